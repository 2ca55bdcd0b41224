/// The vault.db schema, as an ordered list of migrations; `PRAGMA user_version` records how many
/// have run. A migration only ever appends: an old vault is brought forward, never rewritten.
enum Schema {
    static let migrations: [String] = [
        // 1: vault identity, principals, key wraps.
        """
        CREATE TABLE vault_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT;

        -- One row per principal. Chair-decided fields are covered by chair_sig (design: Cryptography), so a
        -- writer of vault.db without the chair's key can delete rows but not forge or alter them.
        -- identity_ct is the real identity, AES-256-GCM under the vault identity key.
        CREATE TABLE principals (
            id          TEXT PRIMARY KEY,
            role        TEXT NOT NULL CHECK (role IN ('chair', 'evaluator', 'committee', 'auditor')),
            x25519_pub  BLOB NOT NULL CHECK (length(x25519_pub) = 32),
            ed25519_pub BLOB NOT NULL CHECK (length(ed25519_pub) = 32),
            identity_ct BLOB,
            conflicts   TEXT NOT NULL,
            enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            version     INTEGER NOT NULL,
            chair_sig   BLOB NOT NULL CHECK (length(chair_sig) = 64)
        ) STRICT;

        -- Secrets wrapped with HPKE to one principal: the vault identity key (purpose
        -- 'identity-key', scope ''), later round keys and their Shamir shares (scope = round id).
        CREATE TABLE key_wraps (
            purpose   TEXT NOT NULL,
            scope     TEXT NOT NULL,
            recipient TEXT NOT NULL REFERENCES principals(id),
            enc       BLOB NOT NULL CHECK (length(enc) = 32),
            ct        BLOB NOT NULL,
            PRIMARY KEY (purpose, scope, recipient)
        ) STRICT;
        """,
        // 2: signed policy versions and the audit log (design: Policy language, Audit log).
        """
        -- Each applied policy, signed by the chair over (vault id, version, sha256 of source).
        CREATE TABLE policies (
            version    INTEGER PRIMARY KEY CHECK (version >= 1),
            source     TEXT NOT NULL,
            sha256     BLOB NOT NULL CHECK (length(sha256) = 32),
            applied_at TEXT NOT NULL,
            chair_sig  BLOB NOT NULL CHECK (length(chair_sig) = 64)
        ) STRICT;

        -- The audit log: JCS entry bytes, their RFC 9162 leaf hash, the actor's Ed25519
        -- signature over the leaf hash (NULL when unauthenticated).
        CREATE TABLE audit_log (
            seq       INTEGER PRIMARY KEY CHECK (seq >= 0),
            entry     BLOB NOT NULL,
            leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32),
            sig       BLOB CHECK (sig IS NULL OR length(sig) = 64)
        ) STRICT;

        -- The right edge of the Merkle tree: one perfect-subtree root per set bit of the size.
        CREATE TABLE audit_frontier (
            level INTEGER PRIMARY KEY,
            hash  BLOB NOT NULL CHECK (length(hash) = 32)
        ) STRICT;

        -- Signed checkpoints (C2SP signed notes), one per tree size at most.
        CREATE TABLE checkpoints (
            size INTEGER PRIMARY KEY,
            root BLOB NOT NULL CHECK (length(root) = 32),
            note TEXT NOT NULL
        ) STRICT;

        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
        // 3: rounds and sealed scores (design: Concepts, Cryptography).
        """
        -- A round: its canonical definition, state, the policy version it opened under and its
        -- X25519 public key, all covered by chair_sig (with a version against replay).
        CREATE TABLE rounds (
            id             TEXT PRIMARY KEY,
            config         TEXT NOT NULL,
            state          TEXT NOT NULL CHECK (state IN ('draft', 'open', 'closed', 'shredded')),
            policy_version INTEGER,
            public_key     BLOB CHECK (public_key IS NULL OR length(public_key) = 32),
            version        INTEGER NOT NULL,
            chair_sig      BLOB NOT NULL CHECK (length(chair_sig) = 64)
        ) STRICT;

        -- One row per `seal` command: the HPKE encapsulated key, how many scores, and the
        -- sealed trailer (evaluator id, time, Ed25519 signature over the batch digest).
        -- Nothing here names the evaluator in plaintext.
        CREATE TABLE batches (
            id      BLOB PRIMARY KEY CHECK (length(id) = 16),
            round   TEXT NOT NULL REFERENCES rounds(id),
            enc     BLOB NOT NULL,
            count   INTEGER NOT NULL CHECK (count >= 1),
            trailer BLOB NOT NULL
        ) STRICT;

        -- One row per score: its place in the clear (for counts, design: Invariants honest limits) and its
        -- AES-256-GCM ciphertext, whose AAD binds it to exactly this place.
        CREATE TABLE seals (
            batch     BLOB NOT NULL REFERENCES batches(id),
            seq       INTEGER NOT NULL CHECK (seq >= 0),
            team      TEXT NOT NULL,
            criterion TEXT NOT NULL,
            ct        BLOB NOT NULL,
            PRIMARY KEY (batch, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX batches_round ON batches(round);
        """,
        // 4: version 2 — state comes from the signed log. The Merkle frontier is no longer
        // stored (each client computes the root from the leaves it verified); each closed round
        // keeps the manifest of the batches it counts.
        """
        DROP TABLE audit_frontier;
        CREATE TABLE manifests (
            round TEXT PRIMARY KEY REFERENCES rounds(id),
            body  BLOB NOT NULL
        ) STRICT;
        -- The panel a round opened with (JSON list of evaluator ids), approved by k holders.
        ALTER TABLE rounds ADD COLUMN panel TEXT;
        """,
        // 5: a batch is stored as its file arrives — header, 64 KiB encrypted chunks, count and
        // the evaluator's signature — so nothing in vault.db names the teams or criteria a batch
        // scored. The per-score tables of earlier development builds go (a vault holding rows in
        // them is refused before this runs).
        """
        DROP TABLE seals;
        DROP TABLE batches;
        CREATE TABLE batches (
            id        BLOB PRIMARY KEY CHECK (length(id) = 16),
            round     TEXT NOT NULL REFERENCES rounds(id),
            header    BLOB NOT NULL,
            count     INTEGER NOT NULL CHECK (count >= 1),
            chunks    INTEGER NOT NULL CHECK (chunks >= 1),
            signature BLOB NOT NULL CHECK (length(signature) = 64)
        ) STRICT;
        CREATE INDEX batches_round ON batches(round);
        CREATE TABLE batch_chunks (
            batch BLOB NOT NULL,
            n     INTEGER NOT NULL CHECK (n >= 0),
            ct    BLOB NOT NULL,
            PRIMARY KEY (batch, n)
        ) STRICT;
        """,
        // 6: a tally round's key ceremony (its request, the holders' commits and statements),
        // part of the chair-signed round record.
        """
        ALTER TABLE rounds ADD COLUMN ceremony BLOB;
        """,
    ]

    /// Brings `db` up to the latest schema inside one transaction.
    static func migrate(_ db: Database) throws {
        let current = try db.userVersion
        guard current <= migrations.count else {
            throw VaultError.invalidData("\(db.path) was made by a newer evalvault (schema \(current), this one knows \(migrations.count))")
        }
        guard current < migrations.count else { return }
        if current == 4, try db.prepare("SELECT 1 FROM seals LIMIT 1").step() {
            throw VaultError.invalidData("\(db.path) holds scores sealed by a development build of evalvault 2 in a storage layout this one no longer reads; seal them again into a new vault")
        }
        try db.transaction {
            for (i, sql) in migrations.enumerated().dropFirst(current) {
                try db.execute(sql)
                try db.execute("PRAGMA user_version = \(i + 1)")
            }
        }
    }
}
