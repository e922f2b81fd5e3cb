import ChatData
import Foundation
import Llama
import Tokenizer

/// Stands in for a tokenizer when the data is pre-tokenized and the model directory has none:
/// pre-tokenized records never call it; anything that does gets a clear failure in `DataPipeline`.
struct NoTokenizer: ChatTokenizer {
    let vocabularySize: Int
    func encode(_ text: String) -> [Int] { [] }
    func decodeBytes(_ ids: [Int]) -> [UInt8] { Array(ids.map { "<\($0)>" }.joined().utf8) }
    func decode(_ ids: [Int]) -> String { String(decoding: decodeBytes(ids), as: UTF8.self) }
    func specialTokenID(_ name: String) -> Int? { nil }
    func tokenString(_ id: Int) -> String? { "<\(id)>" }
    func isSpecial(_ id: Int) -> Bool { false }
}

/// Loads the recipe's tokenizer (or the model's). Without one, only pre-tokenized data can be used.
func loadTokenizer(_ recipe: Recipe, vocabularySize: Int) throws -> any ChatTokenizer {
    let path = recipe.tokenizer ?? recipe.model
    do {
        return try ModelTokenizer.load(path: path)
    } catch {
        if recipe.data.format == .tokenized { return NoTokenizer(vocabularySize: vocabularySize) }
        throw error
    }
}

/// The tokenizer `llama-sft data` uses: the recipe's (or model's); for pre-tokenized data without one,
/// a stand-in sized by the model config when it can be read.
public func loadTokenizerForData(_ recipe: Recipe) throws -> any ChatTokenizer {
    let vocab = (try? LlamaConfig.load(path: recipe.model).vocabSize) ?? Int.max
    return try loadTokenizer(recipe, vocabularySize: vocab)
}
