       01  T050-REQUEST.
           05  T050-REUNION           PIC 9(2).
           05  T050-COURSE            PIC 9(2).
           05  T050-KIND              PIC X(1).
           05  T050-PAYLOAD           PIC X(24).
           05  T050-ARRIVAL REDEFINES T050-PAYLOAD.
               10  T050-PLACE         PIC 9(2) OCCURS 8 TIMES.
               10  FILLER             PIC X(8).
           05  T050-ODDS REDEFINES T050-PAYLOAD.
               10  T050-HORSE         PIC 9(2).
               10  T050-ODDS-VALUE    COMP-2.
               10  T050-STAMP         PIC 9(14).
