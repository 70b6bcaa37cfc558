"""Zero-knowledge age verification: Longfellow proofs (pylongfellow) over ISO 18013-5 mdocs.

A device holds an mdoc credential from a trusted issuer and proves `age_over_N = true` bound
to a fresh server nonce (`prover`); the server checks the proof in a process pool and keeps
only the outcome (`verifier`). No birth date, credential or proof bytes are kept.
"""
