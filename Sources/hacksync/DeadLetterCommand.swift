import ArgumentParser
import Foundation
import Server

/// `hacksync dlq list | show ID | retry ID | retry --all | discard ID`
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect, retry or discard documents the index refused.",
        subcommands: [List.self, Show.self, Retry.self, Discard.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open dead letters, most recently seen first.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Include resolved entries.") var all = false
        @Option(help: "At most this many.") var limit = 100
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let letters = try await common.deadLetters()
                .list(includeResolved: all, limit: limit)
            if json { return try printJSON(letters) }
            if letters.isEmpty {
                print(all ? "no dead letters" : "no open dead letters")
                return
            }
            print(Table(["ID", "DOCUMENT", "ERROR", "ATTEMPTS", "LAST SEEN", "STATE"], letters.map {
                ["\($0.id)", "\($0.entity)/\($0.docID)", "\($0.errorType): \($0.errorReason)".clipped(70), "\($0.attempts)",
                 AdminJSON.timestamp($0.lastSeen), $0.resolution ?? "open"]
            }).rendered)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One dead letter with its document.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Dead-letter id.") var id: Int64

        func run() async throws {
            try printJSON(try await common.deadLetters().show(id))
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the sync to write the document again; the entry resolves when the index accepts it.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Dead-letter id.") var id: Int64?
        @Flag(help: "Retry every open entry.") var all = false

        func validate() throws {
            guard (id != nil) != all else { throw ValidationError("give a dead-letter id or --all") }
        }

        func run() async throws {
            let store = try common.deadLetters()
            if let id {
                let letter = try await store.retry(id)
                print("retry queued for \(letter.entity)/\(letter.docID) (dead letter \(id))")
            } else {
                print("retry queued for \(try await store.retryAll()) documents")
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an entry without syncing its document.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Dead-letter id.") var id: Int64

        func run() async throws {
            let letter = try await common.deadLetters().discard(id)
            print("discarded dead letter \(id) (\(letter.entity)/\(letter.docID))")
        }
    }
}

extension CommonOptions {
    func deadLetters() throws -> DeadLetters {
        let logger = try makeLogger("hacksync.dlq")
        return DeadLetters(database: try connector(logger: logger), logger: logger)
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    print(String(decoding: try AdminJSON.encoder(pretty: true).encode(value), as: UTF8.self))
}

/// A plain-text table with aligned columns.
struct Table {
    var header: [String]
    var rows: [[String]]

    init(_ header: [String], _ rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    var rendered: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

extension String {
    func clipped(_ length: Int) -> String {
        count <= length ? self : String(prefix(length - 1)) + "…"
    }
}
