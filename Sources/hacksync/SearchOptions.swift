import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import Search
import Server

/// Where the search cluster is, for every command that talks to it.
struct SearchOptions: ParsableArguments {
    @Option(help: "Elasticsearch URL, http(s)://[user:password@]host:port. Default: $ELASTICSEARCH_URL.")
    var elasticsearchURL: String?

    @Option(help: "Prefix for index and alias names. Default: $HACKSYNC_INDEX_PREFIX or none.")
    var indexPrefix: String?

    func resolvedURL() throws -> String {
        guard let url = elasticsearchURL ?? ProcessInfo.processInfo.environment["ELASTICSEARCH_URL"], !url.isEmpty else {
            throw ValidationError("no search cluster: pass --elasticsearch-url or set ELASTICSEARCH_URL")
        }
        return url
    }

    func resolvedPrefix() -> String {
        indexPrefix ?? ProcessInfo.processInfo.environment["HACKSYNC_INDEX_PREFIX"] ?? ""
    }

    func indexes(logger: Logger) throws -> SearchIndexes {
        let client = ElasticsearchClient(url: try ElasticsearchURL(try resolvedURL()), http: ElasticsearchClient.sharedHTTPClient, logger: logger)
        return SearchIndexes(client: client, prefix: resolvedPrefix(), logger: logger)
    }
}
