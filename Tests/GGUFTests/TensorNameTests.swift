import XCTest
@testable import GGUF

final class TensorNameTests: XCTestCase {
    func testEveryLlamaNameMapsBothWays() {
        let pairs = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
            ("blk.12.attn_q.weight", "model.layers.12.self_attn.q_proj.weight"),
            ("blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"),
            ("blk.1.attn_v.weight", "model.layers.1.self_attn.v_proj.weight"),
            ("blk.1.attn_output.weight", "model.layers.1.self_attn.o_proj.weight"),
            ("blk.29.ffn_norm.weight", "model.layers.29.post_attention_layernorm.weight"),
            ("blk.2.ffn_gate.weight", "model.layers.2.mlp.gate_proj.weight"),
            ("blk.2.ffn_up.weight", "model.layers.2.mlp.up_proj.weight"),
            ("blk.2.ffn_down.weight", "model.layers.2.mlp.down_proj.weight"),
        ]
        for (gguf, hf) in pairs {
            XCTAssertEqual(GGUFTensorNames.hfName(forGGUF: gguf), hf)
            XCTAssertEqual(GGUFTensorNames.ggufName(forHF: hf), gguf)
        }
        for unknown in ["rope_freqs.weight", "blk.x.attn_q.weight", "blk.01.attn_q.weight", "blk.0.attn_qq.weight", "token_embd"] {
            XCTAssertNil(GGUFTensorNames.hfName(forGGUF: unknown), unknown)
        }
        XCTAssertNil(GGUFTensorNames.ggufName(forHF: "model.layers.0.self_attn.rotary_emb.inv_freq"))
    }

    /// The converter's permutation written out by hand for one head of 6 rows: HF rows [a0 a1 a2 | b0 b1 b2]
    /// (rotate-half pairs a_i, b_i) become interleaved [a0 b0 a1 b1 a2 b2] in GGUF.
    func testPermutationInterleavesHalvesPerHead() {
        XCTAssertEqual(GGUFRoPEPermutation.toGGUF(rows: 6, heads: 1), [0, 3, 1, 4, 2, 5])
        XCTAssertEqual(GGUFRoPEPermutation.toHF(rows: 6, heads: 1), [0, 2, 4, 1, 3, 5])
        XCTAssertEqual(GGUFRoPEPermutation.toGGUF(rows: 8, heads: 2), [0, 2, 1, 3, 4, 6, 5, 7])
    }

    func testPermutationRoundTripsOnRows() {
        let rows = 24, rowBytes = 5
        let src = (0..<rows * rowBytes).map { UInt8($0 % 251) }
        var ggufRows = [UInt8](repeating: 0, count: src.count), back = ggufRows
        src.withUnsafeBytes { s in ggufRows.withUnsafeMutableBytes { d in
            GGUFRoPEPermutation.apply(GGUFRoPEPermutation.toGGUF(rows: rows, heads: 3), rowBytes: rowBytes, from: s.baseAddress!, to: d.baseAddress!)
        } }
        XCTAssertNotEqual(ggufRows, src)
        ggufRows.withUnsafeBytes { s in back.withUnsafeMutableBytes { d in
            GGUFRoPEPermutation.apply(GGUFRoPEPermutation.toHF(rows: rows, heads: 3), rowBytes: rowBytes, from: s.baseAddress!, to: d.baseAddress!)
        } }
        XCTAssertEqual(back, src)
    }
}
