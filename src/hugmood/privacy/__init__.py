"""Computing without seeing: homomorphic analytics (`he`) and zero-knowledge age checks (`zk`)."""
