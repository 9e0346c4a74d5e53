/// The block tree as JSON for `rulebook dump`. (Stub.)
enum BlockDump {
    static func json(_ blocks: [Block]) -> String { "{\"blocks\": []}\n" }
}
