/// Dataset file(s) → validated records → templated, truncated examples + statistics.
public enum DataPipeline {
    /// Reads, validates and templates the dataset described by `options`.
    ///
    /// Train examples come from `options.train`; eval examples from `options.eval`, or from the records
    /// picked by ``evalSelection(categories:fraction:seed:)`` when `evalFraction > 0` (the split is made on
    /// valid records before templating, so it does not depend on the template or `max_seq_len`). Both lists
    /// are in dataset order. Throws ``ChatDataError`` for unreadable files, invalid records (with
    /// `on_invalid: error`), a template the tokenizer cannot build, or an empty training set.
    public static func prepare(_ options: DataOptions, tokenizer: some ChatTokenizer) throws -> PreparedData {
        try options.validate()
        let builder = try ExampleBuilder(template: options.template, tokenizer: tokenizer, date: options.templateDate,
                                         trainOn: options.trainOn, systemPrompt: options.systemPrompt,
                                         maxSeqLen: options.maxSeqLen, truncation: options.truncation)
        var stats = DataStats()

        let trainRecords = try records(options.train, builder: builder, options: options,
                                       vocabularySize: tokenizer.vocabularySize, stats: &stats)
        var train: [Example] = []
        var eval: [Example] = []

        if let evalPath = options.eval {
            let evalRecords = try records(evalPath, builder: builder, options: options,
                                          vocabularySize: tokenizer.vocabularySize, stats: &stats)
            train = try build(trainRecords, builder: builder, stats: &stats)
            eval = try build(evalRecords, builder: builder, stats: &stats)
        } else {
            let isEval = evalSelection(categories: trainRecords.map(\.category), fraction: options.evalFraction,
                                       seed: options.seed)
            var trainPart: [DatasetRecord] = []
            var evalPart: [DatasetRecord] = []
            for (record, toEval) in zip(trainRecords, isEval) {
                if toEval { evalPart.append(record) } else { trainPart.append(record) }
            }
            train = try build(trainPart, builder: builder, stats: &stats)
            eval = try build(evalPart, builder: builder, stats: &stats)
        }
        stats.train = TokenStats(train)
        stats.eval = TokenStats(eval)
        if train.isEmpty {
            throw ChatDataError.noExamples(path: options.train, detail: "\(stats.records) records, \(stats.valid) valid, \(stats.skippedTotal) skipped, \(stats.dropped) dropped")
        }
        return PreparedData(train: train, eval: eval, stats: stats)
    }

    /// The checked records of every file `path` names (a file, a directory or a glob, see ``DatasetPaths``),
    /// in file-name order; each file gets its own summary in `stats`.
    static func records(_ path: String, builder: ExampleBuilder, options: DataOptions, vocabularySize: Int,
                        stats: inout DataStats) throws -> [DatasetRecord] {
        var records: [DatasetRecord] = []
        for file in try DatasetPaths.expand(path) {
            let read = try DatasetReader.read(path: file, format: options.format, onInvalid: options.onInvalid,
                                              vocabularySize: vocabularySize)
            records += try checkedRecords(read, builder: builder, options: options, stats: &stats)
        }
        return records
    }

    /// Records of a file after the template-dependent check (BOS of pre-tokenized records), with the file's
    /// counts added to `stats`.
    static func checkedRecords(_ file: DatasetFile, builder: ExampleBuilder, options: DataOptions,
                               stats: inout DataStats) throws -> [DatasetRecord] {
        var summary = DataFileSummary(path: file.path, format: file.format, records: file.recordCount, valid: 0,
                                      skipped: file.skipped, skipExamples: file.skipExamples)
        var records: [DatasetRecord] = []
        records.reserveCapacity(file.records.count)
        for record in file.records {
            if case .tokenized(let tokenized) = record, let problem = builder.bosProblem(tokenized) {
                switch options.onInvalid {
                case .error:
                    throw ChatDataError.invalidRecord(source: tokenized.source, reason: .badTokenized, detail: problem)
                case .skip:
                    summary.skipped[.badTokenized, default: 0] += 1
                    if summary.skipExamples.count < DatasetReader.skipExampleLimit {
                        summary.skipExamples.append("\(tokenized.source): \(problem) [\(InvalidReason.badTokenized.rawValue)]")
                    }
                    continue
                }
            }
            records.append(record)
        }
        summary.valid = records.count
        stats.files.append(summary)
        stats.records += summary.records
        stats.valid += summary.valid
        stats.skipped.merge(summary.skipped, uniquingKeysWith: +)
        return records
    }

    /// Examples of `records` in order; dropped ones are counted.
    static func build(_ records: [DatasetRecord], builder: ExampleBuilder, stats: inout DataStats) throws -> [Example] {
        var examples: [Example] = []
        examples.reserveCapacity(records.count)
        for record in records {
            let outcome: ExampleBuilder.Outcome
            switch record {
            case .conversation(let conversation): outcome = try builder.build(conversation)
            case .tokenized(let tokenized): outcome = builder.build(tokenized)
            }
            if outcome.truncated { stats.truncated += 1 }
            if outcome.droppedUntrained { stats.droppedUntrained += 1 }
            if outcome.droppedTooLong { stats.droppedTooLong += 1 }
            if outcome.containsSpecialText { stats.specialTextExamples += 1 }
            if outcome.endsWithoutAssistant { stats.endingWithoutAssistant += 1 }
            if outcome.systemPromptAdded { stats.systemPromptAdded += 1 }
            if let example = outcome.example { examples.append(example) }
        }
        return examples
    }
}
