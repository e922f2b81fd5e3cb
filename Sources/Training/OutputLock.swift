import Foundation

/// An exclusive `flock` on `<output_dir>/.llama-sft.lock` while a run trains, so two `llama-sft train`
/// processes never write checkpoints into the same folder. The kernel drops the lock when the process
/// ends, however it ends (kill -9 included), so a stale lock cannot block a resume.
final class OutputLock {
    private let fd: Int32

    init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(".llama-sft.lock")
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrainingError("cannot create \(path): \(String(cString: strerror(errno))); is the output directory writable?")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw TrainingError("\(directory) is in use by another `llama-sft train` (it holds \(path)). Wait for it to finish, stop it (Ctrl-C writes a checkpoint), or choose another output_dir.")
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
