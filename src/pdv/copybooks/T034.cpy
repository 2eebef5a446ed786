       01  T034-REQUEST.
           05  T034-TICKET-ID         PIC X(20).
           05  T034-REASON-CODE       PIC 9(2).

       01  T034-RESPONSE.
           05  T034-TICKET-ID         PIC X(20).
           05  T034-REFUNDED-STAKE    PIC S9(7)V99 COMP-3.
