import CFuzzDriver
import Foundation

// `hacksync-fuzz TARGET [libFuzzer flags] [corpus dirs]`: one program for
// every target, so one build serves them all.
let targets: [String: (UnsafeRawBufferPointer) -> Void] = [
    "frames": FuzzTargets.frames,
    "server-handshake": FuzzTargets.serverHandshake,
    "client-handshake": FuzzTargets.clientHandshake,
    "utf8": FuzzTargets.utf8,
    "inflate": FuzzTargets.inflate,
    "subscription": FuzzTargets.subscription,
    "http-head": FuzzTargets.httpHead,
]

let arguments = CommandLine.arguments
guard arguments.count > 1, let target = targets[arguments[1]] else {
    FileHandle.standardError.write(Data("usage: hacksync-fuzz TARGET [libFuzzer options] [corpus]\ntargets: \(targets.keys.sorted().joined(separator: " "))\n".utf8))
    exit(2)
}
nonisolated(unsafe) var selected = target

/// libFuzzer's own entry, which its driver objects reference even though
/// `LLVMFuzzerRunDriver` below is given the callback directly (a debug
/// build does not link without it).
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// libFuzzer sees the program name and what follows the target.
var argc = CommandLine.argc - 1
var rest: [UnsafeMutablePointer<CChar>?] = [CommandLine.unsafeArgv[0]] + (2..<Int(CommandLine.argc)).map { CommandLine.unsafeArgv[$0] } + [nil]
exit(rest.withUnsafeMutableBufferPointer { buffer in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        selected(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
})
