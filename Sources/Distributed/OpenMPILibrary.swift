#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The handful of Open MPI entry points the trainer uses, looked up at run time with dlopen/dlsym so
/// that building and running without MPI needs nothing. Open MPI's predefined handles
/// (`MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_SUM`, …) are the addresses of exported globals
/// (`ompi_mpi_comm_world`, …), so they are looked up the same way. Only the C ABI of Open MPI
/// (libmpi.so.40, Open MPI 3.x–5.x) is supported; MPICH's handles are integers, not symbols.
final class OpenMPILibrary: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer
    typealias InitThread = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>) -> Int32
    typealias CommQuery = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    typealias Exchange = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle) -> Int32
    typealias ExchangeV = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, UnsafePointer<Int32>, UnsafePointer<Int32>, Handle, Handle) -> Int32
    typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    typealias CommOnly = @convention(c) (Handle) -> Int32
    typealias Abort = @convention(c) (Handle, Int32) -> Int32
    typealias Finalize = @convention(c) () -> Int32

    let initThread: InitThread
    let commRank: CommQuery
    let commSize: CommQuery
    let alltoall: Exchange
    let allgather: Exchange
    let allgatherv: ExchangeV
    let bcast: Bcast
    let barrier: CommOnly
    let abort: Abort
    let finalize: Finalize
    let commWorld: Handle
    let byte: Handle
    let float: Handle
    let double: Handle

    /// The library file tried when `LLAMA_SFT_LIBMPI` does not name another one.
    static let defaultPath = "libmpi.so.40"

    /// Loads the library; the error text says what failed (file or symbol).
    init(path: String) throws(LaunchError) {
        // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve libmpi's symbols from the global scope.
        guard let lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else {
            throw LaunchError(String(cString: dlerror()))
        }
        func symbol(_ name: String) throws(LaunchError) -> UnsafeMutableRawPointer {
            guard let p = dlsym(lib, name) else { throw LaunchError("\(path) has no symbol \(name): is it Open MPI's libmpi?") }
            return p
        }
        initThread = unsafeBitCast(try symbol("MPI_Init_thread"), to: InitThread.self)
        commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: CommQuery.self)
        commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: CommQuery.self)
        alltoall = unsafeBitCast(try symbol("MPI_Alltoall"), to: Exchange.self)
        allgather = unsafeBitCast(try symbol("MPI_Allgather"), to: Exchange.self)
        allgatherv = unsafeBitCast(try symbol("MPI_Allgatherv"), to: ExchangeV.self)
        bcast = unsafeBitCast(try symbol("MPI_Bcast"), to: Bcast.self)
        barrier = unsafeBitCast(try symbol("MPI_Barrier"), to: CommOnly.self)
        abort = unsafeBitCast(try symbol("MPI_Abort"), to: Abort.self)
        finalize = unsafeBitCast(try symbol("MPI_Finalize"), to: Finalize.self)
        commWorld = try symbol("ompi_mpi_comm_world")
        byte = try symbol("ompi_mpi_byte")
        float = try symbol("ompi_mpi_float")
        double = try symbol("ompi_mpi_double")
    }
}
