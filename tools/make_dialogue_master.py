#!/usr/bin/env python3
"""Writes tests/data/adm/own/dialogue_music.wav: a small ADM BWF master (BW64 header, chna and
axml after the data chunk, as several DAWs write them) with two audioContents, one marked as
dialogue (<dialogue>1</dialogue>) and one as music (<dialogue nonDialogueContentKind="2">0</dialogue>),
and loudnessMetadata on the programme. The dialogue object (a 440 Hz sine at the centre) lasts the
first 2 s of 4; the music object (a 1 kHz sine, at M+030) plays throughout.

Plain python3, no packages:  python3 tools/make_dialogue_master.py
"""
import math, os, struct

RATE, SECS = 48000, 4
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "adm", "own", "dialogue_music.wav")

AXML = """<?xml version="1.0" encoding="UTF-8"?>
<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016"><coreMetadata><format>
<audioFormatExtended version="ITU-R_BS.2076-2">
 <audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="Episode 1">
  <audioContentIDRef>ACO_1001</audioContentIDRef><audioContentIDRef>ACO_1002</audioContentIDRef>
  <loudnessMetadata loudnessMethod="ITU-R BS.1770"><integratedLoudness>-23.0</integratedLoudness>
   <maxTruePeak>-1.0</maxTruePeak><dialogueLoudness>-24.0</dialogueLoudness></loudnessMetadata>
 </audioProgramme>
 <audioContent audioContentID="ACO_1001" audioContentName="Dialogue EN">
  <audioObjectIDRef>AO_1001</audioObjectIDRef><dialogue dialogueContentKind="1">1</dialogue></audioContent>
 <audioContent audioContentID="ACO_1002" audioContentName="Music &amp; score">
  <audioObjectIDRef>AO_1002</audioObjectIDRef><dialogue nonDialogueContentKind="2">0</dialogue></audioContent>
 <audioObject audioObjectID="AO_1001" audioObjectName="Dx" start="00:00:00.00000" duration="00:00:02.00000">
  <audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>
 <audioObject audioObjectID="AO_1002" audioObjectName="Score">
  <audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000002</audioTrackUIDRef></audioObject>
 <audioPackFormat audioPackFormatID="AP_00031001" audioPackFormatName="Dx" typeDefinition="Objects">
  <audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef></audioPackFormat>
 <audioPackFormat audioPackFormatID="AP_00031002" audioPackFormatName="Score" typeDefinition="Objects">
  <audioChannelFormatIDRef>AC_00031002</audioChannelFormatIDRef></audioPackFormat>
 <audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="Dx" typeDefinition="Objects">
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000001">
   <position coordinate="azimuth">0</position><position coordinate="elevation">0</position></audioBlockFormat>
 </audioChannelFormat>
 <audioChannelFormat audioChannelFormatID="AC_00031002" audioChannelFormatName="Score" typeDefinition="Objects">
  <audioBlockFormat audioBlockFormatID="AB_00031002_00000001">
   <position coordinate="azimuth">30</position><position coordinate="elevation">0</position></audioBlockFormat>
 </audioChannelFormat>
 <audioTrackUID UID="ATU_00000001"><audioChannelFormatIDRef>AC_00031001_00</audioChannelFormatIDRef>
  <audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef></audioTrackUID>
 <audioTrackUID UID="ATU_00000002"><audioChannelFormatIDRef>AC_00031002_00</audioChannelFormatIDRef>
  <audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef></audioTrackUID>
</audioFormatExtended></format></coreMetadata></ebuCoreMain>
"""


def chunk(tag, body):
    pad = b"\0" if len(body) % 2 else b""
    return tag + struct.pack("<I", len(body)) + body + pad


def main():
    frames = []
    for n in range(RATE * SECS):
        dx = 0.2 * math.sin(2 * math.pi * 440 * n / RATE)
        mx = 0.05 * math.sin(2 * math.pi * 1000 * n / RATE)
        frames.append(struct.pack("<hh", round(dx * 32767), round(mx * 32767)))
    data = b"".join(frames)
    fmt = struct.pack("<HHIIHH", 1, 2, RATE, RATE * 4, 4, 16)
    rows = b""
    for i, (uid, ref, pack) in enumerate([("ATU_00000001", "AC_00031001_00", "AP_00031001"),
                                          ("ATU_00000002", "AC_00031002_00", "AP_00031002")]):
        rows += struct.pack("<H", i + 1) + uid.encode().ljust(12, b"\0") + ref.encode().ljust(14, b"\0") \
            + pack.encode().ljust(11, b"\0") + b"\0"
    chna = struct.pack("<HH", 2, 2) + rows
    body = b"WAVE" + chunk(b"fmt ", fmt) + chunk(b"data", data) + chunk(b"chna", chna) \
        + chunk(b"axml", AXML.encode())
    with open(OUT, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


if __name__ == "__main__":
    main()
