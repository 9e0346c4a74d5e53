import Dispatch
import Foundation

/// `(0..<count).map(transform)`, computed on all cores in chunks of `chunk` indices; the same values in
/// the same order as the serial map.
func concurrentMap<Value>(count: Int, chunk: Int = 256, _ transform: @Sendable (Int) -> Value) -> [Value] {
    var result = [Value?](repeating: nil, count: count)
    result.withUnsafeMutableBufferPointer { slots in
        nonisolated(unsafe) let slots = slots  // each slot is written by exactly one iteration
        DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { part in
            for index in (part * chunk)..<min(count, (part + 1) * chunk) { slots[index] = transform(index) }
        }
    }
    return result.map { $0! }
}

/// Work started on a global queue; `wait()` returns its result (and may be called any number of times).
final class BackgroundTask<Value: Sendable>: @unchecked Sendable {
    private var value: Value?
    private let done = DispatchSemaphore(value: 0)
    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            self.value = work()
            self.done.signal()
        }
    }
    func wait() -> Value {
        done.wait()
        done.signal()  // for the next caller
        return value!
    }
}

/// Values written by worker threads, each index by exactly one worker, and read once they all finished
/// (`DispatchQueue.concurrentPerform` returns after every iteration): no lock is needed.
final class SlotBox<Value>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Value?>
    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }
    deinit {
        storage.deinitialize()
        storage.deallocate()
    }
    func set(_ index: Int, _ value: Value) { storage[index] = value }
    func values() -> [Value] { storage.map { $0! } }
}

/// Values one thread leaves for another to take once: what a producer made that a later producer
/// can reuse (a bundle's text for its shard's data line). Taking leaves the slot empty.
final class Handoff<Value>: @unchecked Sendable {
    private var storage: [Int: Value] = [:]
    private let lock = NSLock()
    func put(_ key: Int, _ value: Value) {
        lock.lock()
        defer { lock.unlock() }
        storage[key] = value
    }
    func take(_ key: Int) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        return storage.removeValue(forKey: key)
    }
}

/// A counter shared by worker threads: each `increment()` returns the next value once.
final class AtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let current = value
        value += 1
        return current
    }
}
