import Foundation

/// How this process was started: alone, or as one rank of an `mpirun` job.
public enum Launch {
    /// Variable naming another libmpi file than the default `libmpi.so.40` (e.g. an Open MPI in /opt).
    public static let libraryVariable = "LLAMA_SFT_LIBMPI"

    /// "rank R of N" when an MPI launcher started this process, from the variables it sets:
    /// Open MPI's OMPI_COMM_WORLD_* (and PMIx's PMIX_RANK), or MPICH/Hydra's PMI_RANK/PMI_SIZE.
    public static func launcher(_ env: [String: String] = ProcessInfo.processInfo.environment) -> (rank: String, size: String, openMPI: Bool)? {
        if let r = env["OMPI_COMM_WORLD_RANK"] ?? env["PMIX_RANK"] {
            return (r, env["OMPI_COMM_WORLD_SIZE"] ?? "?", true)
        }
        if let r = env["PMI_RANK"] { return (r, env["PMI_SIZE"] ?? "?", false) }
        return nil
    }

    /// The communicator for this process: `SingleProcess` for a plain run, an MPI job when started by
    /// Open MPI's `mpirun`. Never falls back to training alone under a launcher: N separate copies
    /// would each train the whole model and race for the same output directory.
    public static func communicator(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(LaunchError) -> any Communicator {
        guard let started = launcher(env) else { return SingleProcess() }
        let place = "rank \(started.rank) of \(started.size)"
        guard started.openMPI else {
            throw LaunchError("llama-sft was started by an MPI launcher that is not Open MPI's (\(place), PMI_RANK is set): only Open MPI's mpirun is supported (Debian/Ubuntu: apt-get install openmpi-bin). Not training: the processes would each train a separate copy.")
        }
        let path = env[libraryVariable] ?? OpenMPILibrary.defaultPath
        let library: OpenMPILibrary
        do { library = try OpenMPILibrary(path: path) } catch {
            throw LaunchError("llama-sft was started by mpirun (\(place)) but cannot load Open MPI's library \(path): \(error.message). Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin), or set \(libraryVariable) to the path of its libmpi.so. Not training: without MPI the processes would each train a separate copy.")
        }
        return try MPICommunicator(library: library)
    }
}
