-- Where the lock holder runs, so a holder that died on this host can be seen
-- to be gone without waiting for its lease to run out.
ALTER TABLE locks ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE locks ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
