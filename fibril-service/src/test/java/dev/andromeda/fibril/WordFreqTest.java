package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.andromeda.fibril.modules.Words;
import dev.andromeda.fibril.nucleus.Fibril;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The paper's Fig. 2, the very script the constellation runs, on one nucleus with a fake mantle
 * and a real HTTP server serving a small crawl: pages that link to zipped books and to more pages.
 */
class WordFreqTest {

    static final String SCRIPT = """
            function main(url) {
              var http = require('http'), fs = require('fs'), sys = require('sys'), jam = require('jam');
              var res = http.req(url);
              switch (res.contentType) {
                case 'application/zip':
                  var words = jam.unzip(res.content()).split();
                  for (var i = 0; i < words.length; i++) fs.invoke({word: words[i], freq: Int.incr});
                  break;
                case 'text/html':
                  var cs = [], urls = res.urls();
                  for (var j = 0; j < urls.length; j++) cs.push(sys.spawn(main, [urls[j]]));
                  for (var k = 0; k < cs.length; k++) { var st = cs[k][1].recv(); if (st.err) throw new Error(st.err); }
                  break;
              }
              return sys.SUCCESS;
            }
            var fs = require('fs'), sys = require('sys');
            fs.mkdir('words', {key: 'word', attrs: {freq: Int}, opts: {partitions: 8, failures: 2, versioning: false}});
            var pair = sys.spawn(main, [sys.args[0]]);
            var status = pair[1].recv();
            status.ok === sys.SUCCESS ? fs.get({word: 'pi'}) : ['Impossible', -1];
            """;

    static HttpServer server;
    static String base;
    static final Map<String, Long> expected = new HashMap<>();

    static byte[] zip(String... entries) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(b)) {
            for (int i = 0; i < entries.length; i++) {
                z.putNextEntry(new ZipEntry("part" + i + ".txt"));
                z.write(entries[i].getBytes(StandardCharsets.ISO_8859_1));
                z.closeEntry();
            }
        }
        return b.toByteArray();
    }

    static void serve(String path, String type, byte[] body) {
        server.createContext(path, ex -> {
            ex.getResponseHeaders().add("Content-Type", type);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
    }

    @BeforeAll
    static void crawl() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        base = "http://127.0.0.1:" + server.getAddress().getPort();
        StringBuilder big = new StringBuilder();
        for (int i = 0; i < 20_000; i++) big.append("word").append((char) ('a' + i % 26)).append(i % 7 == 0 ? " Pi, " : " the ");
        String[] books = {
                "Pi is 3.14159. PI pi, the ratio;\nThe circle's ratio.",
                big.toString(),
                "caf\u00e9 na\u00efve pi",
        };
        serve("/books/a.zip", "application/zip", zip(books[0]));
        serve("/books/b.zip", "application/zip", zip(books[1], "end"));
        serve("/books/c.zip", "application/zip", zip(books[2]));
        serve("/readme.txt", "text/plain", "not a book".getBytes(StandardCharsets.UTF_8));
        serve("/index.html", "text/html; charset=utf-8", ("<html><body><a href=\"/books/a.zip\">A</a> <A HREF='books/b.zip#x'>B</A>"
                + "<a href=\"/books/a.zip\">again</a><a href=\"more.html\">more</a><a href=\"mailto:x@y\">mail</a>"
                + "<!-- <a href=\"/hidden.zip\"> --></body></html>").getBytes(StandardCharsets.UTF_8));
        serve("/more.html", "text/html", "<a href=/books/c.zip>C</a> <a href='/readme.txt'>readme</a>".getBytes(StandardCharsets.UTF_8));
        server.start();
        for (String b : books) Words.count(b).forEach((w, n) -> expected.merge(w, n, Long::sum));
        Words.count("end").forEach((w, n) -> expected.merge(w, n, Long::sum));
    }

    @AfterAll
    static void stopServer() { server.stop(0); }

    @Test
    void figureTwoCountsEveryWordOfEveryBook() {
        try (TestNode node = new TestNode()) {
            Fibril f = node.run(SCRIPT, Duration.ofSeconds(40), base + "/index.html");
            assertThat(f.state()).as(String.valueOf(f.error())).isEqualTo(Fibril.State.DONE);
            assertThat(f.result().toString()).isEqualTo("{\"word\":\"pi\",\"freq\":" + expected.get("pi") + "}");
            assertThat(node.mantle.column("words", "freq")).isEqualTo(expected);
            // main was stored once and the five children ran it by fingerprint; the root script is
            // stored too (its spawn checkpoint names it by fingerprint)
            assertThat(node.mantle.code).hasSize(2);
            assertThat(node.mantle.code.values()).contains(SCRIPT);
        }
    }

    @Test
    void theFastScriptCountsTheSameAsFigureTwo() throws Exception {
        String fast = java.nio.file.Files.readString(java.nio.file.Path.of("../examples/wordfreq-fast.js"));
        try (TestNode node = new TestNode()) {
            Fibril f = node.run(fast, Duration.ofSeconds(40), base + "/index.html");
            assertThat(f.state()).as(String.valueOf(f.error())).isEqualTo(Fibril.State.DONE);
            assertThat(f.result().toString()).isEqualTo("{\"word\":\"pi\",\"freq\":" + expected.get("pi") + "}");
            assertThat(node.mantle.column("words", "freq")).isEqualTo(expected);
            // combined: a few batches for the whole crawl, not a request per word or per book's word
            assertThat(node.mantle.batchAttempts.size()).isLessThan(20);
        }
    }

    @Test
    void aChildReportsOkOnlyAfterItsEffectsAreDurable() {
        // no periodic flush: only the child's own end can make its effects durable
        try (TestNode node = new TestNode(s -> s.setFlushInterval(Duration.ofMinutes(10)))) {
            AtomicLong seenAtOk = new AtomicLong(-1);
            node.mantle.onSend = v -> {
                if (v.has("ok")) seenAtOk.set(node.mantle.value("words", "pi", "freq"));
            };
            Fibril f = node.run("""
                    var fs = require('fs'), sys = require('sys');
                    fs.mkdir('words', {key: 'word', attrs: {freq: Int}});
                    function child(n) {
                      var fs = require('fs');
                      for (var i = 0; i < n; i++) fs.invoke({word: 'pi', freq: Int.incr});
                      fs.invoke({word: 'pi', freq: Int.incr(10)});
                      return 'done';
                    }
                    sys.spawn(child, [1000])[1].recv();
                    """, Duration.ofSeconds(20));
            assertThat(f.result().toString()).isEqualTo("{\"ok\":\"done\"}");
            assertThat(seenAtOk.get()).isEqualTo(1010L);
        }
    }
}
