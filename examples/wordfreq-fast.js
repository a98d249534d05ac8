// The paper's Fig. 2 on the nucleus's fast path: the same counts as wordfreq.js, but a book is
// counted natively (jam.count: McIlroy's tokenizer, in Java, on the inflated bytes; it answers a
// native word → count map) and its counts go to the store in one call (fs.invokeAll takes that
// map as it is: one incr per distinct word, combined per node like fs.invoke), so no interpreted
// loop runs per word. The crawl and the spawns are the same as in Fig. 2.
function main(url) {
  var http = require('http'), fs = require('fs'), sys = require('sys'), jam = require('jam');
  var res = http.req(url);
  switch (res.contentType) {
    case 'application/zip':
      fs.invokeAll('words', jam.count(jam.unzip(res.content())), 'freq');
      break;
    case 'text/html':
      var cs = [], urls = res.urls();
      for (var j = 0; j < urls.length; j++) cs.push(sys.spawn(main, [urls[j]]));
      for (var k = 0; k < cs.length; k++) {
        var st = cs[k][1].recv();
        if (st.err) throw new Error(st.err);
      }
      break;
    default:
      break;
  }
  return sys.SUCCESS;
}

var fs = require('fs'), sys = require('sys');
fs.mkdir('words', {key: 'word', attrs: {freq: Int},
                   opts: {partitions: 8, failures: 2, versioning: false}});
var seed = sys.args[0];
var pair = sys.spawn(main, [seed]);
var status = pair[1].recv();
status.ok === sys.SUCCESS ? fs.get({word: 'pi'}) : ['Impossible', -1];
