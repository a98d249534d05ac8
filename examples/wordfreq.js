// The paper's Fig. 2, "Back to Frequencies", in JavaScript: word frequencies over a crawled
// collection of books. main is shipped to other nodes by fingerprint, so it is self-contained:
// it requires what it uses (the paper: "we need to include particular imports").
function main(url) {
  var http = require('http'), fs = require('fs'), sys = require('sys'), jam = require('jam');
  var res = http.req(url);
  switch (res.contentType) {
    case 'application/zip':
      var book = jam.unzip(res.content());
      var words = book.split();                 // tr -cs A-Za-z '\n' | tr A-Z a-z
      for (var i = 0; i < words.length; i++) {
        fs.invoke({word: words[i], freq: Int.incr});   // atomic per record, combined per node
      }
      break;
    case 'text/html':
      var cs = [], urls = res.urls();
      for (var j = 0; j < urls.length; j++) cs.push(sys.spawn(main, [urls[j]]));
      for (var k = 0; k < cs.length; k++) {
        var st = cs[k][1].recv();               // each child reports Either {ok} or {err}
        if (st.err) throw new Error(st.err);
      }
      break;
    default:
      break;
  }
  return sys.SUCCESS;
}

var fs = require('fs'), sys = require('sys');
// mkdir: the words space, keyed by word, with an Int attribute freq
fs.mkdir('words', {key: 'word', attrs: {freq: Int},
                   opts: {partitions: 8, failures: 2, versioning: false}});
var seed = sys.args[0];
var pair = sys.spawn(main, [seed]);
var s = pair[0], r = pair[1];
var status = r.recv();
status.ok === sys.SUCCESS ? fs.get({word: 'pi'}) : ['Impossible', -1];
