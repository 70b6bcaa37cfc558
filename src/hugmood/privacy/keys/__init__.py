"""Personal data encrypted under per-user keys, and erasure by destroying the key
(crypto-shredding): the master key (`master`), the store of wrapped data keys (`datakeys`)
and the cipher the event store's mapper uses (`cipher`)."""
