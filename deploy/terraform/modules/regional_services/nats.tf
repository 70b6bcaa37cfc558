# NATS JetStream's nodes: one per zone, tainted so only NATS runs there. The servers are the
# StatefulSet in deploy/kubernetes/base/nats.yaml (three replicas, file storage on encrypted
# EBS volumes of the `hugmood-encrypted` storage class, `sync_interval: always`, the
# durability settings the README's "Running distributed" recommends).

resource "aws_eks_node_group" "nats" {
  count = length(var.availability_zones)

  region          = var.region
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "nats-${count.index}"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = [aws_subnet.private[count.index].id]
  instance_types  = [var.nats.instance_type]

  scaling_config {
    min_size     = 1
    desired_size = 1
    max_size     = 1
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node["nats"].id
    version = aws_launch_template.node["nats"].latest_version
  }

  labels = {
    "hugmood.io/pool" = "nats"
  }

  taint {
    key    = "hugmood.io/dedicated"
    value  = "nats"
    effect = "NO_SCHEDULE"
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}
