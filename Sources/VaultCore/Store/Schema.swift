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

        -- One row per principal. Chair-decided fields are covered by chair_sig (SPEC §5), so a
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
    ]

    /// Brings `db` up to the latest schema inside one transaction.
    static func migrate(_ db: Database) throws {
        let current = try db.userVersion
        guard current <= migrations.count else {
            throw VaultError.invalidData("\(db.path) was made by a newer evalvault (schema \(current), this one knows \(migrations.count))")
        }
        guard current < migrations.count else { return }
        try db.transaction {
            for (i, sql) in migrations.enumerated().dropFirst(current) {
                try db.execute(sql)
                try db.execute("PRAGMA user_version = \(i + 1)")
            }
        }
    }
}
