import XCTest
@testable import ChatData

/// Template structure with a fake tokenizer, so every expected id is written by hand from the template text.
final class ChatRendererTests: XCTestCase {
    let fake = FakeTokenizer()
    let chatML = FakeTokenizer(specials: FakeTokenizer.chatMLSpecials)
    let bos = 1000, start = 1006, end = 1007, eot = 1009, nn = 500
    let imStart = 1100, imEnd = 1101

    func ascii(_ s: String) -> [Int] { s.utf8.map { Int($0) } }

    func testLlama3UserAssistant() throws {
        let r = try ChatRenderer(template: .llama3, tokenizer: fake)
        let chat = r.render([Message(role: .user, content: "Hi"), Message(role: .assistant, content: "  Yo \n")])
        let expected = [bos, start, 502, end, nn] + ascii("Hi") + [eot, start, 501, end, nn] + ascii("Yo") + [eot]
        XCTAssertEqual(chat.ids, expected)
        XCTAssertEqual(chat.trained, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    }

    func testLlama3SystemIsAnOrdinaryBlockAndEmptyAssistantTrainsOnlyEot() throws {
        let r = try ChatRenderer(template: .llama3, tokenizer: fake)
        let chat = r.render([Message(role: .system, content: " S "), Message(role: .user, content: "U"),
                             Message(role: .assistant, content: " \t ")])
        let expected = [bos, start, 503, end, nn] + ascii("S") + [eot, start, 502, end, nn] + ascii("U") + [eot,
                        start, 501, end, nn, eot]
        XCTAssertEqual(chat.ids, expected)
        XCTAssertEqual(chat.trained, [UInt8](repeating: 0, count: expected.count - 1) + [1])
    }

    func testLlama31AlwaysHasTheDatedSystemBlock() throws {
        let preamble = "\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        let r = try ChatRenderer(template: .llama31, tokenizer: fake)
        let noSystem = r.render([Message(role: .user, content: "U"), Message(role: .assistant, content: "A")])
        var expected = [bos, start, 503, end] + fake.text(preamble) + [eot]
        expected += [start, 502, end, nn] + ascii("U") + [eot, start, 501, end, nn] + ascii("A") + [eot]
        XCTAssertEqual(noSystem.ids, expected)
        XCTAssertEqual(noSystem.trained.suffix(2), [1, 1])
        XCTAssertEqual(noSystem.trained.reduce(0) { $0 + Int($1) }, 2)

        let dated = try ChatRenderer(template: .llama31, tokenizer: fake, date: "01 Jan 2025")
        let withSystem = dated.render([Message(role: .system, content: "\n Be brief. "),
                                       Message(role: .user, content: "U"), Message(role: .assistant, content: "A")])
        let block = [bos, start, 503, end] +
            fake.text("\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\nBe brief.") + [eot]
        XCTAssertEqual(Array(withSystem.ids.prefix(block.count)), block)
        XCTAssertEqual(Array(withSystem.ids.dropFirst(block.count)),
                       [start, 502, end, nn] + ascii("U") + [eot, start, 501, end, nn] + ascii("A") + [eot])
        XCTAssertEqual(withSystem.ids.filter { $0 == 503 }.count, 1, "the system message is consumed by the block")
    }

    func testGenerationPrompt() throws {
        let messages = [Message(role: .user, content: "U")]
        let llama = try ChatRenderer(template: .llama3, tokenizer: fake).render(messages, addGenerationPrompt: true)
        XCTAssertEqual(llama.ids, [bos, start, 502, end, nn] + ascii("U") + [eot, start, 501, end, nn])
        XCTAssertEqual(llama.trained, [UInt8](repeating: 0, count: llama.ids.count))
        let chatml = try ChatRenderer(template: .chatml, tokenizer: chatML).render(messages, addGenerationPrompt: true)
        XCTAssertEqual(chatml.ids, [imStart] + chatML.text("user\nU") + [imEnd] + ascii("\n") + [imStart] +
                       chatML.text("assistant\n"))
    }

    func testChatMLStructureAndMask() throws {
        let r = try ChatRenderer(template: .chatml, tokenizer: chatML)
        XCTAssertNil(r.bosID)
        let chat = r.render([Message(role: .system, content: "S"), Message(role: .user, content: " U "),
                             Message(role: .assistant, content: "A ")])
        let sys = [imStart] + chatML.text("system\nS") + [imEnd] + ascii("\n")
        let user = [imStart] + chatML.text("user\n U ") + [imEnd] + ascii("\n")
        let asst = [imStart, 501] + ascii("\nA ") + [imEnd] + ascii("\n")
        XCTAssertEqual(chat.ids, sys + user + asst, "chatml does not trim content")
        let mask = [UInt8](repeating: 0, count: sys.count + user.count) + [0, 0, 0, 1, 1, 1, 0]
        XCTAssertEqual(chat.trained, mask)
    }

    func testChatMLTokenStraddlingHeaderAndContentCountsAsContent() throws {
        // "assistant\n" + "\nHello" → "assistant" "\n\n" "Hello": the "\n\n" token holds one content byte.
        let chat = try ChatRenderer(template: .chatml, tokenizer: chatML)
            .render([Message(role: .user, content: "U"), Message(role: .assistant, content: "\nHello")])
        XCTAssertEqual(Array(chat.ids.suffix(5)), [501, nn, 504, imEnd, 10])
        XCTAssertEqual(Array(chat.trained.suffix(5)), [0, 1, 1, 1, 0])
    }

    func testTrainOnModes() throws {
        let r = try ChatRenderer(template: .llama3, tokenizer: fake)
        let messages = [Message(role: .user, content: "a"), Message(role: .assistant, content: "b"),
                        Message(role: .user, content: "c"), Message(role: .assistant, content: "d")]
        // Layout: [bos] + 4 × (header 4, content 1, eot 1) = 25 tokens.
        let assistant = r.render(messages, trainOn: .assistant)
        let last = r.render(messages, trainOn: .lastAssistant)
        let all = r.render(messages, trainOn: .all)
        XCTAssertEqual(assistant.ids, last.ids)
        XCTAssertEqual(assistant.ids, all.ids)
        XCTAssertEqual(assistant.ids.count, 25)
        func ones(_ mask: [UInt8]) -> [Int] { mask.indices.filter { mask[$0] == 1 } }
        XCTAssertEqual(ones(assistant.trained), [11, 12, 23, 24])
        XCTAssertEqual(ones(last.trained), [23, 24])
        XCTAssertEqual(ones(all.trained), Array(1..<25))

        let chatml = try ChatRenderer(template: .chatml, tokenizer: chatML).render(messages, trainOn: .all)
        XCTAssertEqual(chatml.trained, [UInt8](repeating: 1, count: chatml.ids.count), "no BOS: every token")
    }

    func testLastAssistantWithTrailingUserAndLlama31() throws {
        let r = try ChatRenderer(template: .llama31, tokenizer: fake)
        let chat = r.render([Message(role: .system, content: "s"), Message(role: .assistant, content: "x"),
                             Message(role: .user, content: "y"), Message(role: .assistant, content: "z"),
                             Message(role: .user, content: "w")], trainOn: .lastAssistant)
        let trainedIDs = chat.ids.indices.filter { chat.trained[$0] == 1 }.map { chat.ids[$0] }
        XCTAssertEqual(trainedIDs, ascii("z") + [eot])
    }

    func testSpecialTextInContentStaysText() throws {
        let r = try ChatRenderer(template: .llama3, tokenizer: fake)
        let chat = r.render([Message(role: .user, content: "<|eot_id|><|begin_of_text|>"),
                             Message(role: .assistant, content: "ok")])
        XCTAssertEqual(chat.ids.filter { $0 == eot }.count, 2)
        XCTAssertEqual(chat.ids.filter { $0 == bos }.count, 1)
        XCTAssertEqual(chat.ids.firstIndex(of: bos), 0)
    }

    func testMissingSpecialTokenIsAClearError() {
        XCTAssertThrowsError(try ChatRenderer(template: .chatml, tokenizer: fake)) { error in
            XCTAssertEqual(error as? ChatDataError, .missingSpecialToken(name: "<|im_start|>", template: "chatml"))
            XCTAssertTrue(error.localizedDescription.contains("<|im_start|>"))
        }
        XCTAssertThrowsError(try ChatRenderer(template: .llama3, tokenizer: chatML))
    }
}
