package dev.andromeda.examples.corpus;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusGeneratorTest {

    @Test
    void sameSeedSameCorpus(@TempDir Path a, @TempDir Path b) throws Exception {
        CorpusGenerator.generate(a, CorpusGenerator.Options.small(7));
        CorpusGenerator.generate(b, CorpusGenerator.Options.small(7));
        assertThat(McIlroy.countCorpus(a)).isEqualTo(McIlroy.countCorpus(b)).containsKey("pi");
        assertThat(Files.readString(a.resolve("index.html"))).contains("books/book-0005.zip");
    }

    @Test
    void mcIlroyCountsMatchTrOnTrickyInput() throws Exception {
        Map<String, Long> counts = new HashMap<>();
        byte[] text = "Don't stop-me now, 42 times: PI pi Pi\u00e9t\u00e9 x\n".getBytes(StandardCharsets.ISO_8859_1);
        McIlroy.count(new ByteArrayInputStream(text), counts);
        // checked with LC_ALL=C tr -cs A-Za-z '\n' | tr A-Z a-z | sort | uniq -c
        assertThat(counts).containsExactlyInAnyOrderEntriesOf(Map.of(
                "don", 1L, "t", 2L, "stop", 1L, "me", 1L, "now", 1L, "times", 1L, "pi", 3L, "x", 1L));
    }

    @Test
    void topBreaksTiesLikeSortRn() {
        List<String> top = McIlroy.top(Map.of("apple", 2L, "zebra", 2L, "the", 5L, "a", 1L), 3);
        assertThat(top).containsExactly("      5 the", "      2 zebra", "      2 apple");
    }

    @Test
    void serverServesIndexAndZipsWithTheirTypes(@TempDir Path dir) throws Exception {
        CorpusGenerator.generate(dir, CorpusGenerator.Options.small(1));
        try (CorpusServer server = new CorpusServer(dir)) {
            HttpClient http = HttpClient.newHttpClient();
            var index = http.send(HttpRequest.newBuilder(URI.create(server.seedUrl())).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(index.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
            var zip = http.send(HttpRequest.newBuilder(URI.create(server.seedUrl()).resolve("books/book-0000.zip")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(zip.headers().firstValue("Content-Type")).hasValue("application/zip");
            assertThat(zip.body()).isNotEmpty();
            var escape = http.send(HttpRequest.newBuilder(URI.create(server.seedUrl()).resolve("../../etc/passwd")).build(),
                    HttpResponse.BodyHandlers.discarding());
            assertThat(escape.statusCode()).isEqualTo(404);
        }
    }
}
