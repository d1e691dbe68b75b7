import NIOCore

/// Where a subscriber's frames go: offered without waiting, in the order
/// decided; refused (false) when the subscriber is not reading and too
/// much is pending for it.
public protocol FrameOutlet: Sendable {
    func offer(_ frame: ByteBuffer) -> Bool
}
