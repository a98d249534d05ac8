// A REPL session: a fibril that evaluates, in its own global scope, each piece of source the
// terminal sends it, and answers what it came to. Being a fibril, the session has everything a
// fibril has: it waits without holding a thread, it can move (sys.migrate) with every definition
// made so far, and whatever it spawns acts for the same user.
//
// args: [recv endpoint of the terminal's input (Str), send endpoint of the answers]
// answers: {out: text} for each print(...), then {ok: shown value} or {err: name: message}.
var sys = require('sys'), fs = require('fs'), chan = require('chan'), http = require('http'), jam = require('jam');

(function (global, input, output) {
  var LIMIT = 100000;

  function name(f) { return '[Function' + (f.name ? ': ' + f.name : '') + ']'; }

  function show(v) {
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return name(v);
    var s, path = []; // the objects from the top down to the one being written: a cycle leads back into it
    try {
      s = JSON.stringify(v, function (k, x) {
        if (typeof x === 'function') return name(x);
        if (x !== null && typeof x === 'object') {
          while (path.length && path[path.length - 1] !== this) path.pop();
          if (path.indexOf(x) >= 0) return '[Circular]';
          path.push(x);
        }
        return x;
      });
    } catch (e) {
      s = undefined;
    }
    if (s === undefined) s = String(v);
    return s.length > LIMIT ? s.substring(0, LIMIT) + '… (' + s.length + ' characters)' : s;
  }

  // print(...) writes a line on the terminal, before the value of the line that printed it
  global.print = function print() {
    var parts = [];
    for (var i = 0; i < arguments.length; i++) parts.push(typeof arguments[i] === 'string' ? arguments[i] : show(arguments[i]));
    var text = parts.join(' ');
    output.send({out: text.length > LIMIT ? text.substring(0, LIMIT) + '…' : text});
  };

  for (;;) {
    var src = input.recv();
    if (src === null) return; // the terminal closed the session
    var answer;
    try {
      answer = {ok: show(sys.evaluate(src))};
    } catch (e) {
      answer = {err: e instanceof Error ? e.name + ': ' + e.message : 'uncaught ' + show(e)};
    }
    output.send(answer);
  }
})(this, sys.args[0], sys.args[1]);
