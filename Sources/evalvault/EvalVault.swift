import ArgumentParser
import Foundation
import VaultCore
import VaultCrypto

/// The `evalvault` command. Errors are mapped to exit statuses and messages in one place,
/// `main()`, so every command reports failures the same way (design: Command line).
@main
struct EvalVault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evalvault",
        abstract: "A confidential evaluation vault: sealed scores, policy-controlled aggregates, a verifiable audit log.",
        discussion: """
            Evaluators seal scores that only a reveal can open; only the aggregates that the policy allows ever come out. Start with `evalvault demo`, or `evalvault init --chair chair`.

            Exit status: 0 success, 64 usage, 65 bad or tampered data, 66 missing vault/file/id, 70 internal error, 77 denied by policy or authentication failed.

            Example:
              evalvault demo
            """,
        version: "0.2.0",
        subcommands: [InitCommand.self, KeygenCommand.self, PrincipalCommand.self, RoundCommand.self, CeremonyCommand.self, SealCommand.self, ImportCommand.self,
                      RevealCommand.self, VerifyResultCommand.self, ReportCommand.self, IdentityCommand.self, PolicyCommand.self,
                      AuditCommand.self, ReceiptCommand.self, ApproveCommand.self, BackupCommand.self, RestoreCommand.self,
                      DemoCommand.self]
    )

    static func main() {
        Terminal.setHelpWidth()
        let parsed: any ParsableCommand
        do {
            parsed = try parseAsRoot()
        } catch {
            // Help, --version and completion answers print as ArgumentParser writes them (exit 0);
            // an argument error is one sentence and exit 64, whatever ArgumentParser would use.
            if exitCode(for: error) == .success { exit(withError: error) }
            fail(UsageErrors.sentence(for: error, arguments: Array(CommandLine.arguments.dropFirst())), status: .usage)
        }
        Output.mode = Output.Mode(of: parsed)
        do {
            var command = parsed
            try command.run()
        } catch let error as VaultError {
            fail(error.message, status: error.exitStatus)
        } catch let error as CryptoError {
            // The core maps crypto failures itself; one reaching here is a bug, reported without detail.
            fail("internal error: unexpected cryptographic failure (\(error.kind))", status: .internalError)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)  // a command that already reported (import: each refused file)
        } catch let error as ValidationError {
            fail(error.message, status: .usage)
        } catch {
            exit(withError: error)
        }
    }

    static func fail(_ message: String, status: ExitStatus) -> Never {
        Output.error(message)
        Foundation.exit(status.rawValue)
    }
}

extension CryptoError {
    /// A short, secret-free name for the error kind.
    var kind: String {
        switch self {
        case .authenticationFailure: "authentication"
        case .invalidParameter: "parameter"
        case .zeroSharedSecret: "zero shared secret"
        case .messageLimitReached: "message limit"
        case .openSSL: "OpenSSL"
        }
    }
}
