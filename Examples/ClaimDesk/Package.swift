// swift-tools-version:6.0
import PackageDescription

// A consumer of Rulebook: the billing documents in Sources/Billing are compiled into Swift by the
// RulebookPlugin build tool plugin on every `swift build`, and `claimdesk` looks codes up in them.
let package = Package(
    name: "ClaimDesk",
    dependencies: [
        .package(name: "Rulebook", path: "../.."),
    ],
    targets: [
        .target(
            name: "Billing",
            dependencies: [.product(name: "Rulebook", package: "Rulebook")],
            plugins: [.plugin(name: "RulebookPlugin", package: "Rulebook")]
        ),
        .executableTarget(
            name: "claimdesk",
            dependencies: ["Billing", .product(name: "Rulebook", package: "Rulebook")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
