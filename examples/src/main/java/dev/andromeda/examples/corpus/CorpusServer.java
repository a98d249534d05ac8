package dev.andromeda.examples.corpus;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;

/**
 * Serves a generated corpus over HTTP on loopback, so the word count really crawls: an HTML
 * index, then one zip per book, with the content types the crawler dispatches on.
 */
public final class CorpusServer implements AutoCloseable {

    private final HttpServer server;
    private final Path root;

    public CorpusServer(Path root) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/", this::serve);
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "corpus-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    /** The URL of the index page: the crawl's seed. */
    public String seedUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/index.html";
    }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            Path file = root.resolve(ex.getRequestURI().getPath().substring(1)).normalize();
            if (!file.startsWith(root) || !Files.isRegularFile(file) || !"GET".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            String name = file.getFileName().toString();
            String type = name.endsWith(".html") ? "text/html; charset=utf-8"
                    : name.endsWith(".zip") ? "application/zip" : "application/octet-stream";
            ex.getResponseHeaders().set("Content-Type", type);
            ex.sendResponseHeaders(200, Files.size(file));
            try (OutputStream out = ex.getResponseBody()) {
                Files.copy(file, out);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
