"""Homomorphic analytics on mood scores with python-paillier (`phe`, gmpy2), 3072-bit keys.

Devices pack fixed-point values into slots of one Paillier plaintext (`packing`), encrypt with
precomputed randomness (`sealing`); the server adds ciphertexts without a key (`aggregate`);
only the key holder decrypts: the person's device for their own history, the separate
decryption service (`decryptor`) for community cohorts of at least k contributions.
"""
