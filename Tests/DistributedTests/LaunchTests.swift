import Distributed
import XCTest

final class LaunchTests: XCTestCase {
    func testPlainProcessIsSingle() throws {
        XCTAssertNil(Launch.launcher([:]))
        XCTAssertTrue(try Launch.communicator(["HOME": "/root"]) is SingleProcess)
    }

    func testOpenMPIVariablesAreRecognised() {
        let l = Launch.launcher(["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4"])
        XCTAssertEqual(l?.rank, "1")
        XCTAssertEqual(l?.size, "4")
        XCTAssertEqual(l?.openMPI, true)
        XCTAssertEqual(Launch.launcher(["PMIX_RANK": "0"])?.openMPI, true)
    }

    /// Under mpirun without a loadable libmpi the run must refuse, not train N separate copies.
    func testMissingLibraryIsAClearError() {
        let env = ["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", Launch.libraryVariable: "/nonexistent/libmpi.so.40"]
        XCTAssertThrowsError(try Launch.communicator(env)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("started by mpirun (rank 1 of 2)"), text)
            XCTAssertTrue(text.contains("/nonexistent/libmpi.so.40"), text)
            XCTAssertTrue(text.contains("Not training"), text)
        }
    }

    func testOtherLaunchersAreRefused() {
        XCTAssertThrowsError(try Launch.communicator(["PMI_RANK": "0", "PMI_SIZE": "2"])) { error in
            XCTAssertTrue("\(error)".contains("only Open MPI"), "\(error)")
        }
    }

    /// A library that is not libmpi is named with the symbol it lacks.
    func testWrongLibraryNamesTheSymbol() {
        let env = ["OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2", Launch.libraryVariable: "libc.so.6"]
        XCTAssertThrowsError(try Launch.communicator(env)) { error in
            XCTAssertTrue("\(error)".contains("no symbol MPI_Init_thread"), "\(error)")
        }
    }
}
