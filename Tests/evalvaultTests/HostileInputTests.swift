import Foundation
import TestSupport
import Testing

/// The offline verifiers given hostile files, as a user runs them (design: Audit log): refused
/// with 65 in bounded memory. The peak is the child's own, measured by Tests/tools/peak_rss.py,
/// and compared with that of `evalvault --version`, so it does not depend on the build or machine.
@Suite("Hostile input to the offline verifiers")
struct HostileInputTests {
    static let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/peak_rss.py").path

    /// Runs evalvault under the helper; returns its status, stderr and peak resident memory in KiB.
    func runMeasured(_ arguments: [String], in directory: String) throws -> (result: Subprocess.Result, peakKiB: Int) {
        let r = try Subprocess.run("/usr/bin/env", ["python3", Self.helper, Subprocess.evalvaultPath] + arguments,
                                   environment: Subprocess.baseEnvironment, directory: directory, timeout: 60)
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let peak = try #require(last.hasPrefix("peak_rss_kib ") ? Int(last.dropFirst("peak_rss_kib ".count)) : nil, "helper: \(r.stdout) \(r.stderr)")
        return (r, peak)
    }

    @Test("audit verify refuses 64 MiB without a newline with 65 naming line 1, its peak memory within 16 MiB of --version's")
    func endlessLinePeakMemory() throws {
        let work = TemporaryFolder("evalvault-hostile")
        let path = work.path + "/zeros.jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, 64 << 20) == 0)  // sparse: no disk space used
        let base = try runMeasured(["--version"], in: work.path)
        #expect(base.result.status == 0)
        let run = try runMeasured(["audit", "verify", path], in: work.path)
        #expect(run.result.status == 65)
        #expect(run.result.stderr == "evalvault: integrity check failed: line 1 is longer than 1 MiB\n")
        // Holding the line would cost 64 MiB or more.
        #expect(run.peakKiB - base.peakKiB < 16 << 10, "peak \(run.peakKiB) KiB, --version \(base.peakKiB) KiB")
        print("audit verify of 64 MiB without a newline: peak \(run.peakKiB) KiB, --version \(base.peakKiB) KiB")
    }
}
