      * PDV frame header, common to all frame types (32 bytes)
       01  FRAME-HEADER.
           05  FH-TYPE              PIC X(4).
           05  FH-DIRECTION         PIC X(1).
           05  FH-VERSION           PIC 9(2).
           05  FH-TERMINAL-ID       PIC 9(9)  COMP.
           05  FH-PDV-ID            PIC 9(7)  COMP-3.
           05  FH-SEQUENCE          PIC 9(9)  COMP.
           05  FH-TIMESTAMP         PIC 9(17) COMP-3.
           05  FH-STATUS            PIC S9(3) COMP-3.
           05  FH-BODY-LENGTH       PIC 9(4)  COMP.
