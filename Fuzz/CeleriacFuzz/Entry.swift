// Two builds of one target. Under libFuzzer (`scripts/fuzz.sh`, built with
// `-sanitize=fuzzer -DCELERIAC_FUZZING`) the fuzzer calls `LLVMFuzzerTestOneInput` and owns `main`.
// In the normal build it is a replay tool: `celeriac-fuzz TARGET FILE_OR_DIR...` runs every file
// through the target once, which the tests do with the checked-in corpus.

#if CELERIAC_FUZZING
import Foundation

/// The target named by `CELERIAC_FUZZ_TARGET` (`message` or `resp`), read once.
private let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["CELERIAC_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        fatalError("set CELERIAC_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()

/// libFuzzer's entry point; the pointer is only read here, into an array, before any parsing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget.run(bytes)
    return 0
}
#else
import Foundation

@main
struct CeleriacFuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            FileHandle.standardError.write(
                Data("usage: celeriac-fuzz message|resp FILE_OR_DIRECTORY...\n".utf8))
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("celeriac-fuzz: cannot read \(file)\n".utf8))
                    exit(1)
                }
                target.run(Array(data))
                count += 1
            }
        }
        print("ran \(count) inputs through \(target.rawValue)")
    }

    /// The file itself, or the regular files in a directory, sorted.
    private static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [path]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }.filter {
            var nested: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &nested) && !nested.boolValue
        }
    }
}
#endif
