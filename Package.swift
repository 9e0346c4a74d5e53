// swift-tools-version:6.0
import PackageDescription

// Rulebook has no package dependencies by design: the build tool plugin runs in
// every consumer's build, and a dependency graph there is a cost users refuse.
let package = Package(
    name: "Rulebook",
    products: [
        .library(name: "Rulebook", targets: ["Rulebook"]),
        .executable(name: "rulebook", targets: ["rulebook"]),
    ],
    targets: [
        // Runtime library: model types and the rule engine. Generated code imports only this.
        .target(name: "Rulebook"),
        // The compiler: parser, extraction, validation, emitters, driver.
        .target(name: "RulebookCompiler", dependencies: ["Rulebook"]),
        // Thin CLI over RulebookCompiler.
        .executableTarget(name: "rulebook", dependencies: ["RulebookCompiler"]),
        // SwiftEmitter's committed output for the hostile-text fixture records: every build proves it compiles.
        .target(name: "HostileRulesFixture", dependencies: ["Rulebook"], path: "Tests/Fixtures/emitters/HostileSwift"),
        .testTarget(name: "RulebookCompilerTests", dependencies: ["RulebookCompiler", "Rulebook", "HostileRulesFixture"]),
        .testTarget(name: "RulebookTests", dependencies: ["Rulebook"]),
        // The committed output of `rulebook generate` on seeds/: every `swift build` proves it compiles.
        .target(name: "GeneratedRules", dependencies: ["Rulebook"], path: "Generated/Swift"),
        .testTarget(name: "GeneratedRulesTests", dependencies: ["GeneratedRules", "Rulebook"]),
    ],
    swiftLanguageModes: [.v6]
)
