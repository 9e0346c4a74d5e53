// swift-tools-version:6.0
import PackageDescription

// Rulebook has no package dependencies by design: the build tool plugin runs in
// every consumer's build, and a dependency graph there is a cost users refuse.
let package = Package(
    name: "Rulebook",
    products: [
        .library(name: "Rulebook", targets: ["Rulebook"]),
        .executable(name: "rulebook", targets: ["rulebook"]),
        .plugin(name: "RulebookPlugin", targets: ["RulebookPlugin"]),
        .plugin(name: "GenerateRules", targets: ["GenerateRules"]),
    ],
    targets: [
        // Runtime library: model types and the rule engine. Generated code imports only this.
        .target(name: "Rulebook"),
        // The compiler: parser, extraction, validation, emitters, driver.
        .target(name: "RulebookCompiler", dependencies: ["Rulebook"]),
        // Thin CLI over RulebookCompiler.
        .executableTarget(name: "rulebook", dependencies: ["RulebookCompiler"]),
        // Build tool plugin: compiles a target's documents into Swift during `swift build`.
        .plugin(name: "RulebookPlugin", capability: .buildTool(), dependencies: ["rulebook"]),
        // Command plugin: `swift package --allow-writing-to-package-directory generate-rules`.
        .plugin(
            name: "GenerateRules",
            capability: .command(
                intent: .custom(verb: "generate-rules",
                                description: "Compile billing documents into JSON rule bundles and Swift sources"),
                permissions: [.writeToPackageDirectory(
                    reason: "generate-rules writes the compiled rules (JSON bundles and Swift sources) into Generated/ (or <target>/Generated with --target)")]
            ),
            dependencies: ["rulebook"]
        ),
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
