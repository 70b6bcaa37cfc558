"""Federated learning of the on-device mood model: features, the model, federated averaging,
differential privacy with an accountant, secure aggregation, and a simulated population."""
