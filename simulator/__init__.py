"""Offline stand-ins for Twilio: a caller simulator and a fake of the REST API.

* :mod:`simulator.caller` — :class:`CallerSimulator` places a simulated call against a
  TwiML app and follows the TwiML like Twilio (signed requests, Gather/Record/Dial rules,
  status and recording callbacks); time is virtual, nothing sleeps. The call itself is
  built in layers: :mod:`simulator.line` (identity, requests, callbacks),
  :mod:`simulator.verbs` (TwiML verbs) and :mod:`simulator.call` (the turn loop), with
  :mod:`simulator.results` (turns, results) and :mod:`simulator.dialing` (``<Dial>`` legs).
* :mod:`simulator.state` — :class:`CallState`, a call as plain JSON-able data:
  ``call.state()`` saves it between turns, ``CallerSimulator.resume(state)`` carries on.
* :mod:`simulator.actions` — what a scripted caller does (Press, Speak, Silent,
  RecordAudio, HangUp) and ``parse_script``.
* :mod:`simulator.fake_twilio` — :class:`FakeTwilio` and ``create_fake_twilio_app``: the
  Calls and Recordings REST API, plus ``/_fake/*`` control endpoints; its state lives in
  :mod:`simulator.fake_state` and its JSON shapes in :mod:`simulator.resources`.
  :mod:`simulator.messages` is the Messages API (texts, delivery, status callbacks);
  :mod:`simulator.rest` holds the errors and list pages every resource shares.
* :mod:`simulator.server` — ``python -m simulator.server`` serves the fake locally.
* :mod:`simulator.terminal` — drive a call from a terminal or a script.
* :mod:`simulator.sinks` — where recordings go: ``RecordingSink``, and
  ``HttpRecordingSink`` for a simulator in another process.
* :mod:`simulator.testing` — ``serve_app`` for tests.
"""
