import Autodiff
import ChatData
import Distributed
import Foundation
import Llama
import Tensors

/// The trainer's side of data-parallel training (docs/distributed.md): what the ranks check and
/// exchange at start-up, after each step's micro-batches, after evaluation and at checkpoints.
/// With one process (`SingleProcess`) every exchange is the identity.
extension Trainer {
    /// Recipe keys that may differ between ranks: paths (machines may mount the same files in other
    /// places; the model and data fingerprints compare their contents) and the threads of each rank.
    static let perRankKeys: Set<String> = ["model", "tokenizer", "data.train", "data.eval", "lora.init_from", "output_dir", "train.threads"]

    /// Start-up: every rank must have the same recipe (paths aside), base model and data, else a clear
    /// error naming the rank and the difference; then rank 0's adapters, optimizer moments and cursor
    /// (fresh, initialised, or resumed from its checkpoint) are copied to every rank, so all ranks
    /// start from identical bits whatever N the checkpoint was written with.
    func joinRanks() throws {
        guard world.size > 1 else { return }
        let modelFingerprint = state.modelFingerprint ?? "", dataFingerprint = state.dataFingerprint ?? ""
        var identity = recipe.flattened.filter { !Self.perRankKeys.contains($0.key) }
        identity["(base model fingerprint)"] = modelFingerprint
        identity["(training data fingerprint)"] = dataFingerprint + " (\(data.train.count) examples)"
        identity["(eval examples)"] = "\(data.eval.count)"
        let mine = try JSONSerialization.data(withJSONObject: identity, options: [.sortedKeys])
        let all = try world.gather(Array(mine)).map { try JSONSerialization.jsonObject(with: Data($0)) as? [String: String] ?? [:] }
        var problems: [String] = []
        for r in 1..<all.count where all[r] != all[0] {
            let keys = Set(all[r].keys).union(all[0].keys).filter { all[r][$0] != all[0][$0] }.sorted()
            let what = keys.map { "\($0) is \(all[r][$0] ?? "absent") on rank \(r) but \(all[0][$0] ?? "absent") on rank 0" }
            problems.append("rank \(r): " + what.joined(separator: "; "))
        }
        guard problems.isEmpty else {
            throw TrainingError("the ranks of this mpirun job disagree, so they would not train the same model:\n  " + problems.joined(separator: "\n  ")
                                + "\nGive every rank the same recipe, base model and data (paths may differ; contents may not).", everyRankKnows: true)
        }

        let encoded = world.rank == 0 ? Array(try JSONEncoder().encode(RankStart(state: state, adamStep: optimizer.step))) : []
        let start = try JSONDecoder().decode(RankStart.self, from: Data(try world.broadcast(encoded)))
        for p in parameters { try world.broadcast(p.value.data, count: p.value.count) }
        for t in optimizer.m + optimizer.v { try world.broadcast(t.data, count: t.count) }
        if world.rank != 0 {
            state = start.state
            try optimizer.restore(m: optimizer.m, v: optimizer.v, step: start.adamStep)
        }
        try checkRanksAgree(what: "at start-up")
    }

    /// One round of a step: this rank's micro-batch gradient (zeros when it has none this round) is
    /// added, in rank order = micro-batch order, to the step's running sum.
    func exchangeGradients(round: Int, of total: Int) throws {
        let before = world.statistics
        let flat = flatGradients.data
        var offset = 0
        for p in parameters {
            let n = p.value.count
            if let g = p.grad { (flat + offset).update(from: g.data, count: n) } else { (flat + offset).update(repeating: 0, count: n) }
            offset += n
        }
        try world.accumulate(flat, count: offset, contributors: Deal.contributors(round: round, of: total, size: world.size), first: round == 0)
        stepCommunication(since: before, first: round == 0)
    }

    func stepCommunication(since before: CommunicationStatistics, first: Bool) {
        let after = world.statistics
        if first { lastStepCommunication = (0, 0, 0) }
        lastStepCommunication.seconds += after.seconds - before.seconds
        lastStepCommunication.waiting += after.waitingSeconds - before.waitingSeconds
        lastStepCommunication.bytes += after.bytesReduced - before.bytesReduced
    }

    /// End of a step: the summed gradients on every rank, and one reduction of the per-micro-batch NLL
    /// sums, the token counts and the stop request. Each NLL slot is non-zero on one rank only, so its
    /// sum is exact and the loss, added up slot by slot in micro-batch order, is the one-process value
    /// bit for bit. Returns the step's token count over all ranks.
    func reduceStep(nll slots: inout [Double], tokens: Int, trained: Int, expectedTrained: Int) throws -> Int {
        let before = world.statistics
        let flat = flatGradients.data
        var offset = 0
        try world.collectSum(into: flat, count: flatGradients.count)
        for p in parameters {
            let n = p.value.count
            if p.grad == nil { p.grad = Tensor(uninitialized: p.value.shape) }
            p.grad!.data.update(from: flat + offset, count: n)
            offset += n
        }
        var scalars = slots + [Double(tokens), Double(trained), Double(StopSignals.requested)]
        try world.sum(&scalars)
        stepCommunication(since: before, first: false)
        exchangedSteps += 1
        slots = Array(scalars.prefix(slots.count))
        let allTrained = Int(scalars[slots.count + 1])
        guard allTrained == expectedTrained else {
            throw TrainingError("step \(state.step + 1): the ranks trained \(allTrained) tokens but the step has \(expectedTrained): the ranks do not see the same micro-batches", everyRankKnows: true)
        }
        // Any rank asked to stop (mpirun forwards a signal to each rank at slightly different moments):
        // all ranks stop after this same step.
        if scalars[slots.count + 2] != 0 { agreedStop = StopSignals.requested != 0 ? StopSignals.requested : SIGTERM }
        return Int(scalars[slots.count])
    }

    /// Evaluation: each eval micro-batch's NLL sum and target count in its own slot, summed over ranks
    /// (exact: one rank fills each slot).
    func reduceEval(nll: inout [Double], counts: inout [Double]) throws {
        guard world.size > 1 else { return }
        var both = nll + counts
        try world.sum(&both)
        nll = Array(both.prefix(nll.count))
        counts = Array(both.suffix(counts.count))
    }

    /// Before each checkpoint: every rank's adapters and AdamW moments must hash equal to rank 0's
    /// (they apply identical updates to identical bits, so any difference is a fault worth stopping for).
    func checkRanksAgree(what: String) throws {
        guard world.size > 1 else { return }
        let all = try world.gather(Array(parameterHash().utf8)).map { String(decoding: $0, as: UTF8.self) }
        let off = all.indices.filter { all[$0] != all[0] }
        guard off.isEmpty else {
            let list = off.map { "rank \($0) has \(all[$0])" }.joined(separator: ", ")
            throw TrainingError("\(what) (step \(state.step)): the adapter and optimizer state of the ranks differ (rank 0 has \(all[0]), \(list)): the ranks diverged, e.g. different CPUs or library builds on different machines. No checkpoint was written; the last checkpoint is intact and resumable.", everyRankKnows: true)
        }
    }

    /// FNV-1a 64 over the bit patterns of every adapter tensor and both AdamW moments, in order.
    func parameterHash() -> String {
        var hasher = FNV1a64()
        hasher.add(word: UInt64(optimizer.step))
        for t in parameters.map(\.value) + optimizer.m + optimizer.v {
            let p = t.data
            for i in 0..<t.count { hasher.add(word: UInt64(p[i].bitPattern)) }
        }
        return hasher.hex
    }

    /// Rank 0's decision, on every rank (for choices that depend on files only rank 0 reads).
    func agree(_ decision: Bool) throws -> Bool {
        guard world.size > 1 else { return decision }
        return try world.broadcast([decision ? 1 : 0]) == [1]
    }

    /// For the end of a distributed run: what the exchanges cost.
    var communicationSummary: String {
        let c = world.statistics, steps = Double(max(1, exchangedSteps))
        return String(format: "communication: %.1f s in collectives, of which %.1f s waiting for slower ranks; %.2f MB exchanged per step (%.2f MB sent by this rank per step)",
                      c.seconds, c.waitingSeconds, Double(c.bytesReduced) / 1e6 / steps, Double(c.bytesSent) / 1e6 / steps)
    }

    /// How a step's micro-batches are dealt, for the header.
    var rankLine: String {
        let k = recipe.train.gradAccum
        let counts = (0..<world.size).map { Array(Deal.share(of: k, rank: $0, size: world.size)).count }
        let uneven = k % world.size == 0 ? "" : " (grad_accum \(k) is not a multiple of \(world.size): some ranks wait in the last round; the math is unchanged)"
        return "ranks      \(world.size) processes (Open MPI), \(Threads.count) threads each; a step's \(k) micro-batches go round robin, \(counts.map(String.init).joined(separator: "+")) per rank\(uneven)"
    }
}

/// What rank 0 sends the others at start-up besides the tensors.
struct RankStart: Codable {
    var state: TrainerState
    var adamStep: Int
}
