import Foundation

/// SIGINT / SIGTERM handling for `train`: the first signal asks the loop to stop after the current
/// optimizer step (it then writes a checkpoint and exits 130 or 143); a second SIGINT exits at once
/// without writing anything.
public enum StopSignals {
    nonisolated(unsafe) private static var received: Int32 = 0

    /// The signal that asked to stop, or 0.
    public static var requested: Int32 { received }

    public static func install() {
        received = 0
        signal(SIGINT) { sig in
            if StopSignals.received != 0 { _exit(130) }
            StopSignals.received = sig
        }
        signal(SIGTERM) { sig in
            if StopSignals.received == 0 { StopSignals.received = sig }
        }
    }

    public static func uninstall() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// For tests: behave as if `sig` had arrived.
    public static func simulate(_ sig: Int32) { received = sig }
    public static func reset() { received = 0 }
}
