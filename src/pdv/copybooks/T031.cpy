       01  T031-REQUEST.
           05  T031-REUNION           PIC 9(2).
           05  T031-COURSE            PIC 9(2).
           05  T031-BET-TYPE          PIC X(3).
           05  T031-FORMULA           PIC X(1).
           05  T031-UNIT-STAKE        PIC S9(5)V99 COMP-3.
           05  T031-MULTIPLIER        PIC 9(4)  COMP.
           05  T031-TOTAL-STAKE       PIC S9(7)V99 COMP-3.
           05  T031-PAYMENT-MODE      PIC X(1).
           05  T031-FIELD-BITMAP      PIC X(3).
           05  T031-NB-SELECTIONS     PIC 9(4)  COMP.
           05  T031-SELECTION         PIC 9(4)  COMP
                   OCCURS 1 TO 20 TIMES
                   DEPENDING ON T031-NB-SELECTIONS.

       01  T031-RESPONSE.
           05  T031-TICKET-ID         PIC X(20).
           05  T031-ACCEPTED-STAKE    PIC S9(7)V99 COMP-3.
           05  T031-REJECT-REASON     PIC X(2).
           05  T031-BALANCE           PIC S9(9)V99.
