import NIOCore

/// Where a subscriber's frames go: offered without waiting, in the order
/// decided; refused (false) when the subscriber is not reading and too
/// much is pending for it.
public protocol FrameOutlet: Sendable {
    func offer(_ frame: ByteBuffer) -> Bool
    /// The loop that writes what is offered, in the order it was offered.
    var eventLoop: any EventLoop { get }
}
