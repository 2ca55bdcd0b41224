import Foundation

/// Co-holders named in a command (`--with ID`, design: Command line): each must be a reveal holder
/// of the round, or the command is refused naming it — before anyone's passphrase is asked when
/// the command checks first, and again in the core, so a stray `--with` can never be counted
/// silently as nobody ("reveal-needs-threshold" then hid the cause).
extension Vault {
    /// Refuses (64, recorded) the first of `ids` that is not a reveal holder of `roundID`.
    public func requireRevealHolders(_ ids: [PrincipalID], round roundID: String, actor: Actor, action: String) throws {
        guard !ids.isEmpty else { return }
        let target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: action, target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        try requireRevealHolders(ids, of: round, actor: actor, action: action)
    }

    func requireRevealHolders(_ ids: [PrincipalID], of round: Round, actor: Actor, action: String) throws {
        let holders = round.config.reveal.holders
        guard let stray = ids.first(where: { !holders.contains($0) }) else { return }
        try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: action, target: "round/\(round.id)", outcome: .failed,
                                      details: ["reason": .string("not a reveal holder"), "with": .string(stray.rawValue)]),
                          signer: actor.keys.signing)
        throw VaultError.usage("--with \(stray): \(stray) is not a reveal holder of round \(round.id) (its holders: \(holders.map(\.rawValue).joined(separator: ", ")))")
    }
}
