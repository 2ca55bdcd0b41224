/// The text of `Policies/default.policy`, compiled in so that `evalvault init` works from any
/// installed binary. A test (DefaultPolicyTests) checks that it is byte-for-byte the
/// repository's `Policies/default.policy`, so there is one source of truth.
public enum DefaultPolicy {
    public static let source = """
        // EvalVault default policy (placeholder).
        //
        // The policy language of SPEC §6 and the full default policy arrive with the policy engine.
        // Until then this file is copied into every new vault so that the layout of SPEC §2 holds.

        """
}
