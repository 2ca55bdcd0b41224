/// Why the policy refused a request, in words, when one fact of the request decides it (design:
/// Command line, "Refusals name their cause"): the round's state, or how many reveal holders
/// took part. The policy is asked again with that fact changed, and only a change that would
/// have been allowed is named — so the cause is the policy's own, never a guess, and the
/// determining policy ids still come with it.
///
/// Why: "denied: no policy permits this" for a seal into a closed round reads like a missing
/// permission; "round 2025-R1 is closed" says what to do.
extension PolicySet {
    func refusalCause(of request: PolicyRequest) -> String? {
        guard case .record(let round)? = request.resource["round"], case .string(let roundID)? = round["id"],
              case .string(let state)? = round["state"] else { return nil }
        func asked(state s: String, holders h: Int64?) -> PolicyRequest {
            var r = round
            r["state"] = .string(s)
            var resource = request.resource
            resource["round"] = .record(r)
            var context = request.context
            if let h { context["holders"] = .long(h) }
            return PolicyRequest(principal: request.principal, action: request.action, resource: resource, context: context)
        }
        var holderChange: (took: Int64, needed: Int64)?
        if case .long(let k)? = round["threshold"], case .long(let took)? = request.context["holders"], took < k { holderChange = (took, k) }

        let states = PolicySchema.roundStates.filter { $0 != state }
        let statesAllowed = states.filter { evaluate(asked(state: $0, holders: nil)).allowed }
        let holdersAllowed = holderChange.map { evaluate(asked(state: state, holders: $0.needed)).allowed } ?? false
        let stateReason = { (allowed: [String]) in
            "round \(roundID) is \(state); the policy permits \(request.action) only when it is \(allowed.joined(separator: " or "))"
        }
        let holderReason = { (c: (took: Int64, needed: Int64)) in
            "round \(roundID) needs \(c.needed) of its reveal holders to take part; \(c.took) did"
        }
        if !statesAllowed.isEmpty { return stateReason(statesAllowed) }
        if holdersAllowed, let c = holderChange { return holderReason(c) }
        // Both at once: a reveal of an open round with too few holders.
        if let c = holderChange {
            let both = states.filter { evaluate(asked(state: $0, holders: c.needed)).allowed }
            if !both.isEmpty { return stateReason(both) + "; and it needs \(c.needed) of its reveal holders to take part, \(c.took) did" }
        }
        return nil
    }
}
