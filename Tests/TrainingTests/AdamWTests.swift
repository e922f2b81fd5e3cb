import Autodiff
import Foundation
import Llama
import SafeTensors
import Tensors
import Training
import XCTest

final class AdamWTests: XCTestCase {
    /// Feeding the stored raw gradients through clipping + AdamW reproduces every stored step.
    func testUpdateFromStoredGradientsMatchesTorch() throws {
        for fixture in ["tiny-llama3", "tiny-llama32"] {
            let dir = try goldenDir(fixture)
            let config = try jsonObject(dir + "/adamw.json")
            let order = config["param_order"] as! [String]
            let betas = config["betas"] as! [Double]
            let golden = try SafeTensorsFile(path: dir + "/adamw.safetensors")
            let start = try SafeTensorsFile(path: dir + "/adapter/adapter_model.safetensors")
            let params = try order.map { name -> Variable in
                Variable(Tensor(shape: start.info(name)!.shape, values: try start.float32Array(name)), requiresGrad: true)
            }
            let adam = AdamW(parameters: params, beta1: Float(betas[0]), beta2: Float(betas[1]),
                             eps: Float(config["eps"] as! Double), weightDecay: Float(config["weight_decay"] as! Double))
            let steps = config["steps"] as! [[String: Any]]
            for s in 1...steps.count {
                for (name, p) in zip(order, params) {
                    p.grad = Tensor(shape: p.shape, values: try golden.float32Array("grad\(s).\(name)"))
                }
                let norm = clipGradients(params, maxNorm: Float(config["max_grad_norm"] as! Double))
                XCTAssertEqual(Double(norm), steps[s - 1]["grad_norm"] as! Double, accuracy: 1e-5 * (steps[s - 1]["grad_norm"] as! Double))
                adam.update(params, lr: config["lr"] as! Double)
                for (name, p) in zip(order, params) {
                    let err = maxRelativeError(p.value.array, try golden.float32Array("step\(s).\(name)"))
                    XCTAssertLessThanOrEqual(err, 1e-6, "\(fixture) step \(s) \(name)")
                }
            }
        }
    }

    func testWeightDecayIsDecoupledAndAppliedFirst() {
        let p = Variable(Tensor(shape: [1], values: [2]), requiresGrad: true)
        p.grad = Tensor(shape: [1], values: [0])
        let adam = AdamW(parameters: [p], beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1)
        adam.update([p], lr: 0.5)
        // Zero gradient: only the decay acts, p ← p·(1 − lr·λ).
        XCTAssertEqual(p.value[0], 2 * (1 - 0.05), accuracy: 1e-7)
    }

    func testClippingOnlyScalesDown() {
        let a = Variable(Tensor(shape: [2], values: [3, 4]), requiresGrad: true)
        a.grad = Tensor(shape: [2], values: [3, 4])
        XCTAssertEqual(clipGradients([a], maxNorm: 10), 5)
        XCTAssertEqual(a.grad!.array, [3, 4])
        XCTAssertEqual(clipGradients([a], maxNorm: 1), 5)
        XCTAssertEqual(Double(a.grad![0]), 3 / (5 + 1e-6), accuracy: 1e-7)
    }
}
