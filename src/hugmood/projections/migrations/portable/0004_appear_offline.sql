-- "Appear offline": friends see the user as offline whatever their devices say.
ALTER TABLE rm_accounts ADD COLUMN appear_offline INTEGER NOT NULL DEFAULT 0;
