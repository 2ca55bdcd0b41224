/// The text of `Policies/default.policy`, compiled in so that `evalvault init` works from any
/// installed binary. A test (VaultInitTests "Policies/default.policy in the repository …")
/// checks that it is byte-for-byte the repository's file, so there is one source of truth:
/// edit the file, then paste it here.
public enum DefaultPolicy {
    public static let source = #"""
        // EvalVault default policy (design: Policy language). Copied into every new vault by `evalvault init` and
        // applied, signed by the chair, as policy version 1. Decision rules: any satisfied `forbid`
        // denies; otherwise any satisfied `permit` allows; otherwise the request is denied. An error
        // inside a `forbid` (a missing attribute, say) counts as satisfied, so errors deny.
        //
        // Change it with `evalvault policy apply FILE`; try a change first with `evalvault policy test`.

        // ---------------------------------------------------------------------------------------------
        // Evaluators: seal scores while a round is open, never for a team they have a conflict with.

        @id("evaluators-seal-open-rounds")
        permit (principal in Role::"evaluator", action == Action::"seal", resource)
        when { resource.round.state == "open" }
        unless { principal.conflicts.contains(resource.team) };

        // A forbid as well as the `unless` above: no other permit can ever let a conflicted seal through.
        @id("no-seal-with-conflict")
        forbid (principal, action == Action::"seal", resource)
        when { principal.conflicts.contains(resource.team) };

        // ---------------------------------------------------------------------------------------------
        // Chair: manages principals, rounds, the policy and checkpoints.

        @id("chair-manages-principals")
        permit (principal in Role::"chair",
                action in [Action::"principal.add", Action::"principal.import", Action::"principal.disable",
                           Action::"principal.enable", Action::"principal.conflicts"],
                resource);

        @id("chair-manages-rounds")
        permit (principal in Role::"chair",
                action in [Action::"round.create", Action::"round.close", Action::"round.shred", Action::"round.publish"],
                resource);

        // Batches sealed on evaluators' own machines are imported by the chair while the round is open
        // (the evaluator's signature and the panel are checked whatever the policy says).
        @id("chair-imports-batches")
        permit (principal in Role::"chair", action == Action::"import", resource)
        when { resource.round.state == "open" };

        // Opening fixes the round's panel (who may seal): k of its reveal holders approve it, so the
        // chair alone cannot seat evaluators whose keys it holds.
        @id("holders-open-rounds")
        permit (principal in Role::"chair", action == Action::"round.open", resource)
        when { context.holders >= resource.round.threshold };

        // Who is done sealing: per evaluator and per team, places sealed out of places owed, counted
        // from the signed log (never a score, never which place). Evaluators are left out: the panel's
        // progress is not theirs to watch.
        @id("round-status-for-chair-committee-auditors")
        permit (principal, action == Action::"round.status", resource)
        when { ["chair", "committee", "auditor"].contains(principal.role) };

        @id("chair-applies-policy")
        permit (principal in Role::"chair", action == Action::"policy.apply", resource);

        @id("chair-signs-checkpoints")
        permit (principal in Role::"chair", action == Action::"audit.checkpoint", resource);

        // A backup holds the whole vault: the sealed scores, the log, and the passphrase-protected key
        // files of Keys/. The chair takes it, signing a checkpoint that a restore checks it against, and
        // restores it into a new folder.
        @id("chair-backs-up-and-restores")
        permit (principal in Role::"chair", action in [Action::"vault.backup", Action::"vault.restore"], resource);

        // ---------------------------------------------------------------------------------------------
        // Reveals: only the chair, only on a closed round, only these statistics, only by team or by
        // (team, criterion), only what the round declared. min, max and stddev are left out on purpose:
        // with small groups they come close to showing one evaluator's score.

        @id("chair-reveals-team-aggregates")
        permit (principal in Role::"chair", action == Action::"reveal", resource)
        when {
          resource.round.state == "closed" &&
          ["count", "mean", "median", "trimmed_mean", "weighted_total", "rank"].contains(resource.stat) &&
          resource.by.contains("team") &&
          ["team", "criterion"].containsAll(resource.by)
        };

        // Never anything grouped by evaluator, whoever asks and whatever else a policy permits.
        @id("never-by-evaluator")
        forbid (principal, action == Action::"reveal", resource)
        when { resource.by.contains("evaluator") };

        // Only what the round declared before anyone sealed: a [[publish]] entry of its round file
        // (statistic, grouping, precision, advance, trim must all match), signed with the round and
        // shown to evaluators when they seal. Anything else, more decimal places included, could be
        // picked once the scores are in to single someone out.
        @id("reveal-only-declared")
        forbid (principal, action == Action::"reveal", resource)
        when { !resource.declared };

        // Every (team, criterion) cell behind any output group must hold at least 3 distinct
        // evaluators: min_group is the smallest such cell, for every statistic and grouping. It is
        // known only after decryption: the reveal asks once before opening any seal (without
        // min_group) and once more before printing anything (with it).
        @id("reveal-min-group-3")
        forbid (principal, action == Action::"reveal", resource)
        when { resource has min_group && resource.min_group < 3 };

        // A k-of-n round needs k reveal holders' passphrases in the same command.
        @id("reveal-needs-threshold")
        forbid (principal, action == Action::"reveal", resource)
        when { context.holders < resource.round.threshold };

        // ---------------------------------------------------------------------------------------------
        // Auditors: unmask an identity only with a stated reason; export the audit log.

        @id("auditor-reveals-identity-with-reason")
        permit (principal in Role::"auditor", action == Action::"identity.reveal", resource)
        when { context has reason && context.reason != "" };

        @id("audit-export-chair-or-auditor")
        permit (principal, action == Action::"audit.export", resource)
        when { ["chair", "auditor"].contains(principal.role) };

        """#
}
