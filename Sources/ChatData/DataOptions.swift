/// Everything the data pipeline needs from a recipe. Relative paths are used as given (relative to the
/// current directory); the recipe loader resolves them first.
public struct DataOptions: Sendable {
    /// Training dataset: a JSONL, JSON-array or Parquet file, a directory of them, or a glob of shards
    /// (see ``DatasetPaths``).
    public var train: String
    /// Optional evaluation dataset (same forms as `train`). Exclusive with `evalFraction`.
    public var eval: String?
    /// Fraction of the training file's valid records held out for evaluation (0 = none), see ``evalSelection(categories:fraction:seed:)``.
    public var evalFraction: Double
    public var format: DatasetFormat
    public var template: ChatTemplate
    /// The pinned `Today Date` of the `llama3.1` system block.
    public var templateDate: String
    /// Added as the system message of every conversation that has none.
    public var systemPrompt: String?
    public var trainOn: TrainOn
    /// Longest example in tokens (and longest packed row).
    public var maxSeqLen: Int
    public var truncation: Truncation
    /// Pack whole examples into rows of ≤ `maxSeqLen` tokens (used by ``makeMicroBatches(_:batchSize:packing:maxSeqLen:shuffle:seed:epoch:)``).
    public var packing: Bool
    /// Shuffle each epoch (used by the trainer when it makes micro-batches).
    public var shuffle: Bool
    public var onInvalid: OnInvalid
    /// Seed of the `evalFraction` split (the recipe's seed).
    public var seed: UInt64

    public init(train: String, eval: String? = nil, evalFraction: Double = 0, format: DatasetFormat = .auto,
                template: ChatTemplate = .llama31, templateDate: String = ChatTemplate.defaultDate,
                systemPrompt: String? = nil, trainOn: TrainOn = .assistant, maxSeqLen: Int = 2048,
                truncation: Truncation = .keepStart, packing: Bool = false, shuffle: Bool = true,
                onInvalid: OnInvalid = .error, seed: UInt64 = 0) {
        self.train = train
        self.eval = eval
        self.evalFraction = evalFraction
        self.format = format
        self.template = template
        self.templateDate = templateDate
        self.systemPrompt = systemPrompt
        self.trainOn = trainOn
        self.maxSeqLen = maxSeqLen
        self.truncation = truncation
        self.packing = packing
        self.shuffle = shuffle
        self.onInvalid = onInvalid
        self.seed = seed
    }

    /// Throws ``ChatDataError/invalidOption(key:value:fix:)`` for out-of-range values.
    public func validate() throws {
        if !(evalFraction >= 0 && evalFraction < 1) {
            throw ChatDataError.invalidOption(key: "eval_fraction", value: "\(evalFraction)",
                                              fix: "use a number in [0, 1), e.g. 0.05")
        }
        if eval != nil && evalFraction > 0 {
            throw ChatDataError.invalidOption(key: "eval_fraction", value: "\(evalFraction)",
                                              fix: "set either \"eval\" (a file) or \"eval_fraction\", not both")
        }
        if maxSeqLen < 2 {
            throw ChatDataError.invalidOption(key: "max_seq_len", value: "\(maxSeqLen)",
                                              fix: "use at least 2 (a target needs a token before it); typical: 1024–4096")
        }
    }
}
