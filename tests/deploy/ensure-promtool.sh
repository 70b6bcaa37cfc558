#!/bin/sh
# The deploy checks use Debian's Prometheus (promtool for the rules, the server for the live
# integration test), never a downloaded binary. Installs the `prometheus` package with apt when
# /usr/bin/promtool or /usr/bin/prometheus is missing. The package's service is not started:
# the test runs its own server on a private port.
set -eu
[ -x /usr/bin/promtool ] && [ -x /usr/bin/prometheus ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing prometheus with apt-get (promtool and the server, for the deploy tests)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends prometheus >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends prometheus >/dev/null; }
