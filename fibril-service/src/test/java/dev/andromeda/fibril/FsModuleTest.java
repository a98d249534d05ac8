package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.fibril.nucleus.Fibril;
import org.junit.jupiter.api.Test;

class FsModuleTest {

    @Test
    void invokeGetPutQueryAndSet() {
        try (TestNode node = new TestNode()) {
            Fibril f = node.run("""
                    var fs = require('fs');
                    fs.mkdir('words', {key: 'word', attrs: {freq: Int, note: Str}});
                    fs.invoke({word: 'a', freq: Int.incr});
                    fs.invoke({word: 'a', freq: Int.incr(4)});
                    fs.invoke('words', {word: 'b', freq: Int.incr(7)});
                    fs.invoke({word: 'c', freq: Int.incr(9)});
                    fs.invoke({word: 'c', freq: Int.decr});
                    fs.invoke({word: 'a', note: 'set after incr'});
                    fs.put('words', 'd', {freq: 2});
                    var top = fs.query('words', {freq: {gt: 2}, sort: '-freq', limit: 2});
                    [fs.get({word: 'a'}), fs.get('words', 'b'), fs.get({word: 'nope'}), top.map(function (o) { return o.word + o.freq; })]
                    """);
            assertThat(f.state()).as(String.valueOf(f.error())).isEqualTo(Fibril.State.DONE);
            assertThat(f.result().toString()).isEqualTo("[{\"word\":\"a\",\"freq\":5,\"note\":\"set after incr\"},"
                    + "{\"word\":\"b\",\"freq\":7},null,[\"c8\",\"b7\"]]");
        }
    }

    @Test
    void anInvocationMustNameExactlyOneSpace() {
        try (TestNode node = new TestNode()) {
            Fibril f = node.run("""
                    var fs = require('fs'), r = [];
                    try { fs.invoke({word: 'x', freq: Int.incr}); } catch (e) { r.push(e.message); }
                    fs.mkdir('words', {key: 'word'});
                    fs.mkdir('lexicon', {key: 'word'});
                    try { fs.invoke({word: 'x', freq: Int.incr}); } catch (e) { r.push(e.message); }
                    fs.invoke('lexicon', {word: 'x', freq: Int.incr});
                    r.push(fs.get('lexicon', 'x').freq);
                    r
                    """);
            assertThat(f.state()).as(String.valueOf(f.error())).isEqualTo(Fibril.State.DONE);
            assertThat(f.result().get(0).asString()).contains("no space is keyed by word");
            assertThat(f.result().get(1).asString()).contains("ambiguous").contains("words").contains("lexicon");
            assertThat(f.result().get(2).asInt()).isEqualTo(1);
        }
    }
}
