import Dispatch
import Foundation

/// Runs work on both cores (design: Performance: "use both cores where the work splits").
///
/// The closures are not `Sendable`: each call site hands the threads disjoint data (one thread
/// stores into SQLite while another encrypts the next chunk; each batch of a reveal writes only
/// its own result slot). This enum is the one place that vouches for that to the compiler,
/// so every use of it must say what each thread touches.
enum Parallel {
    private struct Unchecked<T>: @unchecked Sendable { let value: T }

    /// The first error by index, so a failure is reported the same way on every run.
    private final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var errors: [Int: any Error] = [:]
        func record(_ index: Int, _ error: any Error) { lock.lock(); errors[index] = error; lock.unlock() }
        var first: (any Error)? { errors.min { $0.key < $1.key }?.value }
    }

    /// Runs `a` and `b` at the same time and waits for both; rethrows the first one's error first.
    static func both(_ a: () throws -> Void, _ b: () throws -> Void) throws {
        try forEach(2) { try ($0 == 0 ? a : b)() }
    }

    /// Calls `body(0..<count)` on as many threads as there are cores, each index once, and waits;
    /// throws the error of the lowest failing index.
    static func forEach(_ count: Int, _ body: (Int) throws -> Void) throws {
        let failures = Failures()
        withoutActuallyEscaping(body) { body in
            let work = Unchecked(value: body)
            DispatchQueue.concurrentPerform(iterations: count) { i in
                do { try work.value(i) } catch { failures.record(i, error) }
            }
        }
        if let error = failures.first { throw error }
    }
}
